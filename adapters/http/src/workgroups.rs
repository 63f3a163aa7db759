//! Workgroups over HTTP: create, list, read and update them, and set which
//! an agent belongs to and how many calls it holds at once.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use switchboard_core::{
    Center, Command, CoreError, Membership, Reply, WorkgroupId, WorkgroupSettings,
};

use crate::api::audit;
use crate::auth::Who;
use crate::body::Body;
use crate::engine::View;
use crate::{Answer, AnswerExt};
use switchboard_app::views;

use crate::App;

/// Shows workgroup `id` after a command, with `ok` making the answer.
fn show_workgroup(id: String, ok: fn(Value) -> Answer) -> View {
    Box::new(move |c: &Center, r: Result<Reply, CoreError>| match r {
        Err(e) => Answer::refused(&e),
        Ok(_) => match c.workgroup(&id) {
            Some(g) => ok(views::workgroup(c, g)),
            None => Answer::refused(&CoreError::WorkgroupNotFound(id.into())),
        },
    })
}

/// `POST /workgroups`: `workgroup_id` and any settings; the rest default.
/// Read as a map so that a misspelt setting is refused, not ignored.
pub(crate) async fn create(
    State(app): State<App>,
    who: Who,
    Body(mut body): Body<Map<String, Value>>,
) -> Answer {
    let Some(Value::String(id)) = body.remove("workgroup_id") else {
        return Answer::invalid("workgroup_id is required and must be a string");
    };
    let settings = match settings_from(body) {
        Ok(settings) => settings,
        Err(answer) => return answer,
    };
    let command = Command::CreateWorkgroup {
        workgroup_id: id.as_str().into(),
        settings,
    };
    let entry = audit(&who, "workgroup.create", &id);
    app.engine
        .audited(
            Box::new(move |_| Ok(command)),
            show_workgroup(id, Answer::created),
            entry,
        )
        .await
}

fn settings_from(fields: Map<String, Value>) -> Result<WorkgroupSettings, Answer> {
    serde_json::from_value(Value::Object(fields)).map_err(|e| Answer::invalid(e.to_string()))
}

pub(crate) async fn list(State(app): State<App>) -> Answer {
    app.engine
        .read(Box::new(|c, _| {
            let all: Vec<Value> = c.workgroups().map(|g| views::workgroup(c, g)).collect();
            Answer::ok(serde_json::json!({ "count": all.len(), "workgroups": all }))
        }))
        .await
}

pub(crate) async fn get(State(app): State<App>, Path(id): Path<String>) -> Answer {
    app.engine
        .read(Box::new(move |c, _| match c.workgroup(&id) {
            Some(g) => Answer::ok(views::workgroup(c, g)),
            None => Answer::refused(&CoreError::WorkgroupNotFound(id.into())),
        }))
        .await
}

/// `GET /workgroups/{id}/forecast`: the group's staffing advice, as last
/// recomputed by the engine (a read never recomputes it).
pub(crate) async fn forecast(State(app): State<App>, Path(id): Path<String>) -> Answer {
    app.engine
        .read(Box::new(move |c, _| match c.workgroup(&id) {
            Some(_) => Answer::ok(views::forecast(c.forecast(&id))),
            None => Answer::refused(&CoreError::WorkgroupNotFound(id.into())),
        }))
        .await
}

/// `PATCH /workgroups/{id}`: a JSON merge patch of the settings; `null`
/// clears an optional one (e.g. overflow). Merged against the live settings
/// on the engine thread, so concurrent patches do not undo each other.
pub(crate) async fn update(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    Body(patch): Body<Map<String, Value>>,
) -> Answer {
    let key = id.clone();
    let build = Box::new(move |c: &Center| {
        let g = c
            .workgroup(&key)
            .ok_or_else(|| Answer::refused(&CoreError::WorkgroupNotFound(key.as_str().into())))?;
        let Value::Object(mut settings) = views::to_json(&g.settings) else {
            return Err(Answer::unavailable());
        };
        settings.extend(patch);
        let settings = settings_from(settings)?;
        Ok(Command::UpdateWorkgroup {
            workgroup_id: WorkgroupId::from(key),
            settings,
        })
    });
    let entry = audit(&who, "workgroup.update", &id);
    app.engine
        .audited(build, show_workgroup(id, Answer::ok), entry)
        .await
}

/// `PUT /agents/{id}/workgroups`.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Memberships {
    workgroups: Vec<Membership>,
}

pub(crate) async fn set_agent_workgroups(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    Body(b): Body<Memberships>,
) -> Answer {
    let command = Command::SetAgentWorkgroups {
        agent_id: id.as_str().into(),
        workgroups: b.workgroups,
    };
    let entry = audit(&who, "agent.workgroups", &id);
    crate::api::apply_to_agent(&app, id, command, entry).await
}

/// `PUT /agents/{id}/capacity`.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Capacity {
    max_concurrent: u32,
}

pub(crate) async fn set_capacity(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    Body(b): Body<Capacity>,
) -> Answer {
    let command = Command::SetAgentCapacity {
        agent_id: id.as_str().into(),
        max_concurrent: b.max_concurrent,
    };
    let entry = audit(&who, "agent.capacity", &id);
    crate::api::apply_to_agent(&app, id, command, entry).await
}

/// `GET /routing`: each workgroup's mode and whom it would ring next,
/// advancing nothing; the top level is the default group's, as before.
pub(crate) async fn routing(State(app): State<App>) -> Answer {
    app.engine
        .read(Box::new(|c, _| {
            let groups: Vec<Value> = c
                .workgroups()
                .map(|g| {
                    serde_json::json!({
                        "workgroup_id": g.id,
                        "routing_mode": g.settings.routing_mode,
                        "next_agent_id": c.next_agent(g.id.as_str()).ok().flatten(),
                        "ready_agents": g.ready_len(),
                        "queue_length": g.queue_len(),
                    })
                })
                .collect();
            let default = c.workgroup(switchboard_core::DEFAULT_WORKGROUP);
            Answer::ok(serde_json::json!({
                "routing_mode": default.map(|g| g.settings.routing_mode),
                "next_agent_id": c.next_agent(switchboard_core::DEFAULT_WORKGROUP).ok().flatten(),
                "ready_agents": c.stats().agents.ready,
                "queue_length": c.queue_len(),
                "workgroups": groups,
            }))
        }))
        .await
}
