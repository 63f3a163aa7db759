//! Webhooks: the admin API over subscriptions. Delivery is the outbound
//! crate's (`switchboard_outbound::webhooks`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard_store::Webhook;

use crate::api::audit;
use crate::auth::secrets;
use crate::auth::Who;
use crate::body::Body;
use crate::hooks::EVENTS;
use crate::App;
use crate::{Answer, AnswerExt};

// ---- the admin API ----

/// A subscription as the API shows it (the secret only when made).
#[derive(Serialize)]
struct Shown<'a> {
    id: i64,
    url: &'a str,
    events: &'a [String],
    enabled: bool,
    created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
}

fn shown(w: &Webhook, with_secret: bool) -> Shown<'_> {
    Shown {
        id: w.id,
        url: &w.url,
        events: &w.events,
        enabled: w.enabled,
        created_at: w.created_ms,
        secret: with_secret.then_some(w.secret.as_str()),
    }
}

/// Longest receiver URL, in bytes.
pub(crate) const URL_MAX: usize = 2048;

/// Checks a receiver URL as delivery will read it: http or https, a host,
/// no credentials (they would travel in the `Host` header; sign with the
/// secret instead), and nothing the HTTP client cannot send (CR, LF, spaces).
pub(crate) fn check_url(url: &str) -> Result<(), Answer> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Answer::invalid("url must be an http:// or https:// URL"));
    }
    let uri: hyper::Uri = match url.parse() {
        Ok(uri) if url.len() <= URL_MAX => uri,
        _ => return Err(Answer::invalid("url is not a valid URL")),
    };
    let Some(authority) = uri.authority().filter(|a| !a.host().is_empty()) else {
        return Err(Answer::invalid("url must name a host"));
    };
    if authority.as_str().contains('@') {
        return Err(Answer::invalid(
            "url must not carry a user or password (requests are signed with the secret)",
        ));
    }
    let plain = |b: u8| b.is_ascii_alphanumeric() || b".-:[]".contains(&b);
    if !authority.as_str().bytes().all(plain) {
        return Err(Answer::invalid(
            "url's host is a name or an address, and its port a number",
        ));
    }
    Ok(())
}

fn check_events(events: &[String]) -> Result<(), Answer> {
    if events.is_empty() {
        return Err(Answer::invalid("events must name at least one event"));
    }
    match events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
        Some(e) => Err(Answer::invalid(format!(
            "unknown event {e:?}; the events are {}",
            EVENTS.join(", ")
        ))),
        None => Ok(()),
    }
}

fn stored(e: switchboard_store::StoreError) -> Answer {
    tracing::error!(error = %e, "webhook store failed");
    Answer::unavailable()
}

fn not_found(id: i64) -> Answer {
    Answer::error(
        StatusCode::NOT_FOUND,
        "webhook_not_found",
        format!("webhook {id} not found"),
    )
}

pub(crate) async fn list(State(app): State<App>) -> Answer {
    app.engine
        .webhooks(
            Box::new(|_, hooks| {
                let all: Vec<_> = hooks.iter().map(|w| shown(w, false)).collect();
                Answer::ok(json!({ "count": all.len(), "webhooks": all }))
            }),
            None,
        )
        .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewWebhook {
    url: String,
    events: Vec<String>,
    enabled: Option<bool>,
}

/// `POST /webhooks`: the secret is in this answer and nowhere else.
pub(crate) async fn create(State(app): State<App>, who: Who, Body(b): Body<NewWebhook>) -> Answer {
    if let Err(refusal) = check_url(&b.url).and_then(|()| check_events(&b.events)) {
        return refusal;
    }
    let mut w = Webhook {
        id: 0,
        url: b.url,
        events: b.events,
        secret: format!("whsec_{}", secrets::random(24)),
        enabled: b.enabled.unwrap_or(true),
        created_ms: crate::auth::now_ms(),
    };
    let entry = audit(&who, "webhook.create", &w.url);
    app.engine
        .webhooks(
            Box::new(move |store, hooks| match store.insert_webhook(&w) {
                Ok(id) => {
                    w.id = id;
                    let answer = Answer::created(shown(&w, true));
                    hooks.push(w);
                    answer
                }
                Err(e) => stored(e),
            }),
            entry,
        )
        .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookPatch {
    url: Option<String>,
    events: Option<Vec<String>>,
    enabled: Option<bool>,
}

fn id_of(id: &str) -> Result<i64, Answer> {
    id.parse()
        .map_err(|_| Answer::invalid("webhook ids are integers"))
}

pub(crate) async fn update(
    State(app): State<App>,
    who: Who,
    Path(id): Path<String>,
    Body(b): Body<WebhookPatch>,
) -> Answer {
    let id = match id_of(&id) {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    let checked = b
        .url
        .as_deref()
        .map_or(Ok(()), check_url)
        .and_then(|()| b.events.as_deref().map_or(Ok(()), check_events));
    if let Err(refusal) = checked {
        return refusal;
    }
    let entry = audit(&who, "webhook.update", &id.to_string());
    app.engine
        .webhooks(
            Box::new(move |store, hooks| {
                let Some(w) = hooks.iter_mut().find(|w| w.id == id) else {
                    return not_found(id);
                };
                let mut changed = w.clone();
                if let Some(url) = b.url {
                    changed.url = url;
                }
                if let Some(events) = b.events {
                    changed.events = events;
                }
                if let Some(enabled) = b.enabled {
                    changed.enabled = enabled;
                }
                match store.update_webhook(&changed) {
                    Ok(()) => {
                        *w = changed;
                        Answer::ok(shown(w, false))
                    }
                    Err(e) => stored(e),
                }
            }),
            entry,
        )
        .await
}

pub(crate) async fn delete(State(app): State<App>, who: Who, Path(id): Path<String>) -> Answer {
    let id = match id_of(&id) {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    let entry = audit(&who, "webhook.delete", &id.to_string());
    app.engine
        .webhooks(
            Box::new(move |store, hooks| match store.delete_webhook(id) {
                Ok(true) => {
                    hooks.retain(|w| w.id != id);
                    Answer::ok(json!({ "id": id, "status": "deleted" }))
                }
                Ok(false) => not_found(id),
                Err(e) => stored(e),
            }),
            entry,
        )
        .await
}

/// `GET /webhooks/{id}/deliveries`: attempts, newest first (status, latency, error).
pub(crate) async fn deliveries(State(app): State<App>, Path(id): Path<String>) -> Answer {
    let id = match id_of(&id) {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    app.engine
        .webhooks(
            Box::new(move |store, hooks| {
                if !hooks.iter().any(|w| w.id == id) {
                    return not_found(id);
                }
                match store.deliveries(id, 200) {
                    Ok(log) => Answer::ok(json!({ "webhook_id": id, "deliveries": log })),
                    Err(e) => stored(e),
                }
            }),
            None,
        )
        .await
}

/// `POST /webhooks/{id}/events/{event}/redeliver`: queue an event again.
pub(crate) async fn redeliver(
    State(app): State<App>,
    Path((id, event)): Path<(String, String)>,
) -> Answer {
    let (id, event) = match (id_of(&id), id_of(event.trim_start_matches("evt_"))) {
        (Ok(id), Ok(event)) => (id, event),
        (Err(refusal), _) | (_, Err(refusal)) => return refusal,
    };
    let wake = app.engine.outbox_wake();
    let answer = app
        .engine
        .webhooks(
            Box::new(
                move |store, _| match store.redeliver(id, event, crate::auth::now_ms()) {
                    Ok(true) => Answer::ok(
                        json!({ "event_id": format!("evt_{event}"), "status": "pending" }),
                    ),
                    Ok(false) => Answer::error(
                        StatusCode::NOT_FOUND,
                        "event_not_found",
                        format!("webhook {id} has no event evt_{event}"),
                    ),
                    Err(e) => stored(e),
                },
            ),
            None,
        )
        .await;
    wake.notify_waiters();
    answer
}

/// Makes the subscription `url` from the config file unless one exists.
pub async fn ensure(engine: &crate::Engine, url: &str, events: &[String], secret: &str) -> Answer {
    if let Err(refusal) = check_url(url).and_then(|()| check_events(events)) {
        return refusal;
    }
    let w = Webhook {
        id: 0,
        url: url.to_owned(),
        events: events.to_vec(),
        secret: secret.to_owned(),
        enabled: true,
        created_ms: crate::auth::now_ms(),
    };
    engine
        .webhooks(
            Box::new(move |store, hooks| {
                if hooks.iter().any(|h| h.url == w.url) {
                    return Answer::ok(());
                }
                match store.insert_webhook(&w) {
                    Ok(id) => {
                        hooks.push(Webhook { id, ..w });
                        Answer::ok(())
                    }
                    Err(e) => stored(e),
                }
            }),
            None,
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_events_are_checked() {
        assert!(check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(check_url("https://crm.example.com/in").is_ok());
        for bad in [
            "ftp://x",
            "http://",
            "javascript:alert(1)",
            "example.com",
            "http://user:pass@crm.example.com/in",
            "http://crm.example.com/in\r\nX-Evil: 1",
            "http://crm.example.com/a b",
            "https://crm:01*",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert!(check_events(&["call.ended".into()]).is_ok());
        assert!(check_events(&[]).is_err());
        assert!(check_events(&["call.exploded".into()]).is_err());
    }
}
