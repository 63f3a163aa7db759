//! The people on the client hosts: visitors who join, wait, maybe give up,
//! and talk; agents who sign in, keep a console WebSocket, answer (or reject,
//! or miss) offers and hang up. They retry through faults like real pages
//! and consoles do, and write every acknowledged outcome to the [`Ledger`].

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use serde_json::{json, Value};
use switchboard_core::Prng;
use tokio::time::{sleep, Instant};

use super::ledger::Ledger;
use super::wire::{self, Frame, Reply, Ws};
use crate::dist::{exponential, uniform};

const CS: &str = "/customer-service";
/// Pause before retrying a request that got no answer.
const RETRY: Duration = Duration::from_secs(1);
/// How often a waiting visitor's page polls its session.
const POLL: Duration = Duration::from_secs(2);
/// A console that hears nothing this long pings; three silences in a row
/// and it reconnects.
const CONSOLE_QUIET: Duration = Duration::from_secs(10);

/// How the people behave.
#[derive(Clone, Debug)]
pub struct Behaviour {
    /// Mean talk time, exponential.
    pub handle_mean: Duration,
    /// Share of visitors who give up; each has an exponential patience.
    pub impatient: f64,
    /// Mean patience of those who give up.
    pub patience_mean: Duration,
    /// Chance an agent rejects an offer.
    pub reject: f64,
    /// Chance an agent lets an offer ring out.
    pub ignore: f64,
}

/// What every client task shares.
pub struct Ctx {
    /// The record of acknowledged outcomes.
    pub ledger: RefCell<Ledger>,
    /// Visitors in the whole run; agents stop once all are done.
    pub visitors: usize,
    /// How people behave.
    pub behaviour: Behaviour,
}

impl Ctx {
    fn finished(&self) -> bool {
        self.ledger.borrow().visitors_done >= self.visitors
    }

    /// One request, counted; None when it got no answer.
    async fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Option<Reply> {
        self.ledger.borrow_mut().requests += 1;
        match wire::call(method, path, body).await {
            Ok(reply) => Some(reply),
            Err(e) => {
                tracing::trace!(%method, %path, error = %e, "no answer");
                self.ledger.borrow_mut().unanswered += 1;
                None
            }
        }
    }

    fn anomaly(&self, what: String) {
        self.ledger.borrow_mut().anomalies.push(what);
    }
}

fn secs(rng: &mut Prng, mean: Duration) -> Duration {
    Duration::from_secs_f64(exponential(rng, mean.as_secs_f64()))
}

/// A visitor arriving `arrival` into the run.
pub async fn visitor(ctx: Rc<Ctx>, id: String, mut rng: Prng, arrival: Duration) {
    let patience = (uniform(&mut rng) < ctx.behaviour.impatient)
        .then(|| secs(&mut rng, ctx.behaviour.patience_mean));
    sleep(arrival).await;
    if let Some(session) = join(&ctx, &id).await {
        wait_and_talk(&ctx, &id, &session, patience).await;
    }
    ctx.ledger.borrow_mut().visitors_done += 1;
}

/// Joins the queue; a join whose reply was lost is found again by asking
/// where the visitor is.
async fn join(ctx: &Ctx, id: &str) -> Option<String> {
    let body = json!({ "visitor_id": id });
    loop {
        match ctx
            .request("POST", &format!("{CS}/queue/join"), Some(&body))
            .await
        {
            Some((200 | 201, reply)) => {
                let Some(session) = reply["session_id"].as_str().map(str::to_owned) else {
                    ctx.anomaly(format!("join {id}: no session in {reply}"));
                    return None;
                };
                let mut ledger = ctx.ledger.borrow_mut();
                ledger.joined.insert(id.to_owned(), session.clone());
                return Some(session);
            }
            Some((409, _)) => {
                let path = format!("{CS}/queue/position/{id}");
                if let Some((200, reply)) = ctx.request("GET", &path, None).await {
                    return reply["session_id"].as_str().map(str::to_owned);
                }
            }
            Some((429 | 503, _)) | None => {}
            Some((status, reply)) => {
                ctx.anomaly(format!("join {id}: {status} {reply}"));
                return None;
            }
        }
        sleep(RETRY).await;
    }
}

async fn wait_and_talk(ctx: &Ctx, id: &str, session: &str, patience: Option<Duration>) {
    let joined = Instant::now();
    let mut answered = false;
    let path = format!("{CS}/sessions/{session}");
    loop {
        sleep(POLL).await;
        match ctx.request("GET", &path, None).await {
            Some((200, s)) => match s["status"].as_str() {
                Some("ended") => break,
                Some("active") => answered = true,
                _ if !answered && patience.is_some_and(|p| joined.elapsed() >= p) => {
                    leave(ctx, id, session).await;
                }
                _ => {}
            },
            Some((404, _)) => {
                ctx.anomaly(format!("session {session} of {id} vanished"));
                break;
            }
            _ => {}
        }
    }
    if answered {
        ctx.ledger.borrow_mut().visitors_answered += 1;
    }
}

async fn leave(ctx: &Ctx, id: &str, session: &str) {
    ctx.ledger
        .borrow_mut()
        .leave_asked
        .insert(session.to_owned());
    let body = json!({ "visitor_id": id });
    if let Some((200, _)) = ctx
        .request("POST", &format!("{CS}/queue/leave"), Some(&body))
        .await
    {
        ctx.ledger.borrow_mut().left.insert(session.to_owned());
    }
}

/// An agent who works until every visitor is done.
pub async fn agent(ctx: Rc<Ctx>, id: String, mut rng: Prng) {
    let register = json!({ "agent_id": id });
    while !ctx.finished() {
        // Signs in and becomes Ready (409: ringing or on a call already).
        let path = format!("{CS}/agents/register");
        if ctx.request("POST", &path, Some(&register)).await.is_none() {
            sleep(RETRY).await;
            continue;
        }
        match Ws::connect(&format!("role=agent&agent_id={id}")).await {
            Ok(mut ws) => {
                ctx.ledger.borrow_mut().ws_connects += 1;
                console(&ctx, &id, &mut ws, &mut rng).await;
            }
            Err(_) => sleep(RETRY).await,
        }
    }
}

/// Serves offers from the console until it goes quiet or closes.
async fn console(ctx: &Ctx, id: &str, ws: &mut Ws, rng: &mut Prng) {
    let mut silences = 0;
    while !ctx.finished() {
        match ws.next(CONSOLE_QUIET).await {
            Frame::Closed => return,
            Frame::Quiet => {
                silences += 1;
                if silences >= 3 || !ws.send(&json!({ "type": "ping" })).await {
                    return;
                }
            }
            Frame::Json(frame) => {
                silences = 0;
                match frame["type"].as_str() {
                    Some("incoming_call") => offered(ctx, id, rng).await,
                    // Moved to not-Ready: sign in again.
                    Some("agent_no_answer") => return,
                    _ => {}
                }
            }
        }
    }
}

/// An offer arrived: reject it, let it ring, or answer, talk and hang up.
async fn offered(ctx: &Ctx, id: &str, rng: &mut Prng) {
    let roll = uniform(rng);
    let b = &ctx.behaviour;
    if roll < b.reject {
        ctx.ledger.borrow_mut().rejected += 1;
        let _ = ctx
            .request("POST", &format!("{CS}/agents/{id}/reject"), None)
            .await;
        return;
    }
    if roll < b.reject + b.ignore {
        ctx.ledger.borrow_mut().ignored += 1;
        return;
    }
    let session = match ctx
        .request("POST", &format!("{CS}/agents/{id}/accept"), None)
        .await
    {
        Some((200, reply)) => {
            let Some(session) = reply["session_id"].as_str().map(str::to_owned) else {
                ctx.anomaly(format!("accept by {id}: no session in {reply}"));
                return;
            };
            let mut ledger = ctx.ledger.borrow_mut();
            ledger.accepted.push((id.to_owned(), session.clone()));
            session
        }
        // The offer lapsed or went elsewhere.
        Some(_) => return,
        // Unknown: the call may be ours. Ask, as a console would on reconnect.
        None => match my_call(ctx, id).await {
            Some(session) => session,
            None => return,
        },
    };
    sleep(secs(rng, ctx.behaviour.handle_mean)).await;
    hang_up(ctx, &session).await;
}

/// The call this agent is on, if any, once the server answers. An offer
/// still ringing is not a call: hanging it up would cancel the visitor.
async fn my_call(ctx: &Ctx, id: &str) -> Option<String> {
    while !ctx.finished() {
        match on_call(ctx, id).await {
            Some(known) => return known,
            None => sleep(RETRY).await,
        }
    }
    None
}

/// Some(answer) when every request was answered, None to ask again.
async fn on_call(ctx: &Ctx, id: &str) -> Option<Option<String>> {
    let (200, agents) = ctx.request("GET", &format!("{CS}/agents"), None).await? else {
        return None;
    };
    let held: Vec<String> = agents["agents"]
        .as_array()
        .and_then(|list| list.iter().find(|a| a["agent_id"] == id))
        .and_then(|me| me["sessions"].as_array())
        .map(|s| {
            s.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for session in held {
        let (200, s) = ctx
            .request("GET", &format!("{CS}/sessions/{session}"), None)
            .await?
        else {
            return None;
        };
        if s["status"] == "active" && s["agent_id"] == id {
            return Some(Some(session));
        }
    }
    Some(None)
}

async fn hang_up(ctx: &Ctx, session: &str) {
    let path = format!("{CS}/sessions/{session}");
    loop {
        match ctx.request("DELETE", &path, None).await {
            Some((200, _)) => {
                ctx.ledger.borrow_mut().ended.insert(session.to_owned());
                return;
            }
            // Already over (the server ended it, e.g. the console was gone too long).
            Some((404 | 409, _)) => return,
            _ => sleep(RETRY).await,
        }
    }
}
