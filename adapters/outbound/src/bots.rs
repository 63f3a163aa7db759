//! The bot runner: the external bot's webhook and the rule bot's business
//! actions, called outside the engine thread. The core decides when to ask
//! (a `bot_ask` or `bot_action` event) and how long to wait; this module
//! makes the HTTP request and hands the answer back as a `BotReply`
//! command. A request that takes too long is simply dropped: the core's
//! own timer has already handed the visitor over.
//!
//! Two wire formats for the external bot:
//! - **native**: `POST {session_id, visitor_id, workgroup_id, turn, text,
//!   context}` signed like our webhooks (`X-Switchboard-Timestamp`,
//!   `X-Switchboard-Signature: v1=HMAC-SHA256(secret, "ts.body")`); the
//!   answer is `{messages: [{text, options}], action: "handoff" | "resolve",
//!   reason, context: {field: value}}`.
//! - **rasa**: Rasa's REST channel, `POST {sender, message, metadata}` →
//!   `[{recipient_id, text, buttons: [{title, payload}], custom}]`; a
//!   `custom` of `{"handoff": true, "reason": …, "context": {…}}` hands
//!   over, as a Rasa human-handoff action would send it.

use std::collections::BTreeMap;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use serde_json::Value;
use switchboard_app::bot_calls::{BotCall, Request};
use switchboard_app::{AnswerExt, Engine};
use switchboard_core::bot::{BotAnswer, BotFormat, BotMessage, HandoffAsk};
use switchboard_core::Command;

use crate::connect::{connect, now_ms, signature};

/// Largest bot answer read, in bytes.
const ANSWER_MAX: usize = 256 * 1024;

/// Starts making the engine's bot calls, each in a task of its own, their
/// answers applied as commands.
pub fn start(engine: Engine) {
    let Some(mut calls) = engine.bot_inbox().lock().ok().and_then(|mut r| r.take()) else {
        return;
    };
    tokio::spawn(async move {
        while let Some(call) = calls.recv().await {
            tokio::spawn(run(engine.clone(), call));
        }
    });
}

async fn run(engine: Engine, call: BotCall) {
    let outcome = tokio::time::timeout(call.timeout, exchange(&call.request)).await;
    let answer = match outcome {
        // Too late: the core's timer has decided already.
        Err(_) => return,
        Ok(Ok((status, body))) => answer(&call.request, status, &body),
        Ok(Err(e)) => failure(&call.request, e),
    };
    let command = Command::BotReply {
        session_id: call.session_id.clone(),
        turn: call.turn,
        answer,
    };
    let outcome = engine
        .apply(
            command,
            Box::new(|_, r| switchboard_app::Answer::ok(r.is_ok())),
        )
        .await;
    if !outcome.is_ok() {
        tracing::debug!(session = %call.session_id, "bot answer not taken");
    }
}

/// An unreachable bot fails the conversation over to a person; an
/// unreachable business action counts as a failed action.
fn failure(request: &Request, error: String) -> BotAnswer {
    tracing::warn!(%error, "bot request failed");
    match request {
        Request::Ask { .. } => BotAnswer::Failed { error },
        Request::Action { .. } => BotAnswer::Action {
            ok: false,
            fields: BTreeMap::new(),
        },
    }
}

/// Makes the request; the status and body of the answer.
async fn exchange(request: &Request) -> Result<(u16, Bytes), String> {
    let (url, body, secret) = match request {
        Request::Ask {
            url, secret, body, ..
        } => (url, Some(body.to_string()), secret.as_deref()),
        Request::Action { url, post } => (url, post.as_ref().map(Value::to_string), None),
    };
    let uri: hyper::Uri = url.parse().map_err(|e| format!("bad url: {e}"))?;
    let mut sender = connect(&uri).await?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let builder = match &body {
        Some(_) => hyper::Request::post(path),
        None => hyper::Request::get(path),
    };
    let bytes = Bytes::from(body.unwrap_or_default());
    let mut builder = builder
        .header("host", uri.authority().map_or("", |a| a.as_str()))
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .header("user-agent", "switchboard-bot");
    if let Some(secret) = secret {
        let ts = u64::try_from(now_ms() / 1000).unwrap_or(0);
        builder = builder
            .header("x-switchboard-timestamp", ts.to_string())
            .header("x-switchboard-signature", signature(secret, ts, &bytes));
    }
    let request = builder.body(Full::new(bytes)).map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = response.status().as_u16();
    let body = Limited::new(response.into_body(), ANSWER_MAX)
        .collect()
        .await
        .map_err(|e| format!("answer: {e}"))?
        .to_bytes();
    Ok((status, body))
}

/// Reads an answer: a 2xx with a body in the bot's format, else a failure.
fn answer(request: &Request, status: u16, body: &[u8]) -> BotAnswer {
    let parsed = serde_json::from_slice::<Value>(body);
    match (request, (200..300).contains(&status), parsed) {
        (Request::Action { .. }, true, Ok(Value::Object(map))) => BotAnswer::Action {
            ok: true,
            fields: strings(&map),
        },
        (Request::Action { .. }, ok, _) => BotAnswer::Action {
            ok,
            fields: BTreeMap::new(),
        },
        (Request::Ask { format, .. }, true, Ok(v)) => match format {
            BotFormat::Native => native(&v),
            BotFormat::Rasa => rasa(&v),
        }
        .unwrap_or_else(|error| BotAnswer::Failed { error }),
        (Request::Ask { .. }, true, Err(e)) => BotAnswer::Failed {
            error: format!("unreadable answer: {e}"),
        },
        (Request::Ask { .. }, false, _) => BotAnswer::Failed {
            error: format!("HTTP {status}"),
        },
    }
}

/// A JSON object's scalar values as text fields.
fn strings(map: &serde_json::Map<String, Value>) -> BTreeMap<String, String> {
    map.iter()
        .take(64)
        .filter_map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            Some((k.clone(), text))
        })
        .collect()
}

fn native(v: &Value) -> Result<BotAnswer, String> {
    let messages = v["messages"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|m| {
                    Some(BotMessage {
                        text: m["text"].as_str()?.to_owned(),
                        options: labels(&m["options"], |o| o.as_str()),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let action = v["action"].as_str();
    if !matches!(action, None | Some("handoff" | "resolve")) {
        return Err(format!("unknown action {action:?}"));
    }
    let handoff = (action == Some("handoff")).then(|| HandoffAsk {
        reason: v["reason"].as_str().map(str::to_owned),
        fields: v["context"].as_object().map(strings).unwrap_or_default(),
        intents: labels(&v["intents"], |i| i.as_str()),
    });
    Ok(BotAnswer::Said {
        messages,
        handoff,
        resolve: action == Some("resolve"),
    })
}

fn rasa(v: &Value) -> Result<BotAnswer, String> {
    let all = v.as_array().ok_or("a Rasa answer is a list")?;
    let mut messages = Vec::new();
    let mut handoff = None;
    for m in all {
        if let Some(text) = m["text"].as_str() {
            messages.push(BotMessage {
                text: text.to_owned(),
                options: labels(&m["buttons"], |b| b["title"].as_str()),
            });
        }
        let custom = &m["custom"];
        if custom["handoff"].as_bool() == Some(true) {
            handoff = Some(HandoffAsk {
                reason: custom["reason"].as_str().map(str::to_owned),
                fields: custom["context"]
                    .as_object()
                    .map(strings)
                    .unwrap_or_default(),
                intents: labels(&custom["intents"], |i| i.as_str()),
            });
        }
    }
    Ok(BotAnswer::Said {
        messages,
        handoff,
        resolve: false,
    })
}

/// Up to 16 labels of a JSON list.
fn labels(list: &Value, label: impl Fn(&Value) -> Option<&str>) -> Vec<String> {
    list.as_array()
        .map(|all| {
            all.iter()
                .filter_map(|x| label(x).map(str::to_owned))
                .take(16)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(format: BotFormat) -> Request {
        Request::Ask {
            url: "http://bot".into(),
            secret: None,
            format,
            body: Value::Null,
        }
    }

    #[test]
    fn rasa_answers_become_messages_buttons_and_a_handoff() {
        let body = br#"[{"recipient_id":"v1","text":"Hi","buttons":[{"title":"Orders","payload":"/orders"}]},
            {"recipient_id":"v1","custom":{"handoff":true,"reason":"angry","context":{"order_no":"42"}}}]"#;
        let BotAnswer::Said {
            messages, handoff, ..
        } = answer(&ask(BotFormat::Rasa), 200, body)
        else {
            panic!("said");
        };
        assert_eq!(messages[0].text, "Hi");
        assert_eq!(messages[0].options, ["Orders"]);
        let h = handoff.expect("handoff");
        assert_eq!(h.reason.as_deref(), Some("angry"));
        assert_eq!(h.fields["order_no"], "42");
    }

    #[test]
    fn errors_and_garbage_are_failures() {
        for (status, body) in [(503, &b"{}"[..]), (200, b"not json"), (200, b"{\"x\":1}")] {
            assert!(
                matches!(
                    answer(&ask(BotFormat::Rasa), status, body),
                    BotAnswer::Failed { .. }
                ),
                "{status} {body:?}"
            );
        }
        let native = answer(&ask(BotFormat::Native), 200, br#"{"action":"explode"}"#);
        assert!(matches!(native, BotAnswer::Failed { .. }));
    }

    #[test]
    fn native_answers_carry_the_action() {
        let a = answer(
            &ask(BotFormat::Native),
            200,
            br#"{"messages":[{"text":"One moment","options":["ok"]}],"action":"handoff","reason":"vip","context":{"tier":"gold","n":3}}"#,
        );
        let BotAnswer::Said { handoff, .. } = a else {
            panic!("said");
        };
        let h = handoff.expect("handoff");
        assert_eq!(
            (h.fields["tier"].as_str(), h.fields["n"].as_str()),
            ("gold", "3")
        );
    }
}
