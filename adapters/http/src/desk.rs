//! The front desk over HTTP: a workgroup's bot settings (YAML or JSON, the
//! webhook secret never shown back), its figures, and the visitor's two
//! buttons, "talk to a person" and "stay with the bot".

use axum::body::Bytes;
use axum::extract::{Path, State};
use serde_json::json;
use switchboard_core::bot::{BotKind, BotSettings};
use switchboard_core::{Center, Command, CoreError, SessionId, WorkgroupId};

use crate::api::{audit, checked, on_session};
use crate::auth::Who;
use crate::engine::Build;
use crate::App;
use crate::{Answer, AnswerExt};
use switchboard_app::views;

/// `GET /workgroups/{id}/bot`: the settings and the figures.
pub(crate) async fn get(State(app): State<App>, Path(id): Path<String>) -> Answer {
    app.engine
        .read(Box::new(move |c, _| match c.workgroup(&id) {
            Some(g) => Answer::ok(json!({
                "workgroup_id": g.id,
                "settings": g.settings.bot.as_deref().map(views::bot_settings),
                "stats": c.bot_stats(&id).ok(),
            })),
            None => Answer::refused(&CoreError::WorkgroupNotFound(id.into())),
        }))
        .await
}

/// `PUT /workgroups/{id}/bot`: the body is YAML (a superset of JSON).
/// Leaving out a webhook's secret keeps the one set.
pub(crate) async fn put(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    let mut settings: BotSettings = match serde_norway::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return Answer::invalid(format!("bot settings: {e}")),
    };
    let key = id.clone();
    let build: Build = Box::new(move |c: &Center| {
        let g = c
            .workgroup(&key)
            .ok_or_else(|| Answer::refused(&CoreError::WorkgroupNotFound(key.as_str().into())))?;
        if let (
            BotKind::Webhook { secret, .. },
            Some(BotSettings {
                bot: BotKind::Webhook { secret: old, .. },
                ..
            }),
        ) = (&mut settings.bot, g.settings.bot.as_deref())
        {
            if secret.is_none() {
                secret.clone_from(old);
            }
        }
        let mut all = g.settings.clone();
        all.bot = Some(Box::new(settings));
        Ok(Command::UpdateWorkgroup {
            workgroup_id: WorkgroupId::from(key),
            settings: all,
        })
    });
    set(app, who, id, build, "workgroup.bot.set").await
}

/// `DELETE /workgroups/{id}/bot`: visitors queue directly again (refused
/// while a visitor is talking to the bot).
pub(crate) async fn delete(State(app): State<App>, who: Who, Path(id): Path<String>) -> Answer {
    let key = id.clone();
    let build: Build = Box::new(move |c: &Center| {
        let g = c
            .workgroup(&key)
            .ok_or_else(|| Answer::refused(&CoreError::WorkgroupNotFound(key.as_str().into())))?;
        let mut all = g.settings.clone();
        all.bot = None;
        Ok(Command::UpdateWorkgroup {
            workgroup_id: WorkgroupId::from(key),
            settings: all,
        })
    });
    set(app, who, id, build, "workgroup.bot.delete").await
}

async fn set(app: App, who: Who, id: String, build: Build, action: &str) -> Answer {
    let entry = audit(&who, action, &id);
    let view = Box::new(move |c: &Center, r: Result<_, CoreError>| match r {
        Err(e) => Answer::refused(&e),
        Ok(_) => Answer::ok(json!({
            "workgroup_id": id,
            "settings": c.workgroup(&id).and_then(|g| g.settings.bot.as_deref()).map(views::bot_settings),
        })),
    });
    app.engine.audited(build, view, entry).await
}

/// `POST /sessions/{id}/bot/escalate`: the visitor asks for a person.
pub(crate) async fn escalate(State(app): State<App>, who: Who, Path(id): Path<String>) -> Answer {
    visitor_choice(app, who, id, |session_id| Command::BotEscalate {
        session_id,
    })
    .await
}

/// `POST /sessions/{id}/bot/refuse`: the visitor stays with the bot.
pub(crate) async fn refuse(State(app): State<App>, who: Who, Path(id): Path<String>) -> Answer {
    visitor_choice(app, who, id, |session_id| Command::BotRefuse { session_id }).await
}

/// Applies the visitor's choice to session `id` for a caller entitled to
/// it; shows the session after.
async fn visitor_choice(
    app: App,
    who: Who,
    id: String,
    command: fn(SessionId) -> Command,
) -> Answer {
    let id = SessionId::from(id);
    let build = checked(&who, &id, false, command(id.clone()));
    on_session(&app, &who, id, None, build).await
}
