//! The OpenAPI 3 document served at `/customer-service/openapi.json`. A test
//! checks it against the router both ways.

use serde_json::{json, Map, Value};
use switchboard_app::chat::{
    CLIENT_ID_MAX, MESSAGE_MAX, PAGE_MAX, SHORTCODE_MAX, TAGS_MAX, TAG_LEN_MAX,
};
use switchboard_core::{ID_MAX, NAME_MAX, NAME_PATTERN, TEXT_MAX};

use crate::auth::access::{Access, COOKIE, ROUTES};
use crate::auth::{Role, PASSWORD_MAX, PASSWORD_MIN};

/// An id the client chooses (agent, visitor, workgroup, account, token):
/// the core's `is_name`.
fn name() -> Value {
    json!({ "type": "string", "pattern": NAME_PATTERN, "maxLength": ID_MAX })
}

/// Text of at most `max` characters, with something other than spaces in
/// it when `filled`.
fn text(max: usize, filled: bool) -> Value {
    let mut v = json!({ "type": "string", "maxLength": max });
    if filled {
        // Not only white space, as Rust's `trim` counts it.
        v["pattern"] =
            json!(r"[^\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]");
    }
    v
}

/// A password as accounts take it.
fn password() -> Value {
    json!({ "type": "string", "minLength": PASSWORD_MIN, "maxLength": PASSWORD_MAX })
}

/// A role an account or token may have.
fn role() -> Value {
    json!({ "type": "string", "enum": ["admin", "supervisor", "agent"] })
}

/// The events a subscription takes: at least one, each one Switchboard sends.
fn events() -> Value {
    json!({ "type": "array", "minItems": 1, "items": { "type": "string", "enum": crate::hooks::EVENTS } })
}

/// A webhook receiver's URL, as delivery reads it: http or https, a host,
/// no credentials, no spaces.
fn receiver_url() -> Value {
    json!({
        "type": "string",
        "maxLength": crate::webhooks::URL_MAX,
        "pattern": "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][A-Za-z0-9._~:/?#@!$&'()*+,;=%-]*)?$",
    })
}

fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn content(name: &str) -> Value {
    json!({ "application/json": { "schema": schema(name) } })
}

/// One operation: summary, path parameters, request body schema, success
/// status and schema, and the error statuses it can answer.
fn op(
    summary: &str,
    params: &[&str],
    body: Option<&str>,
    ok: (&str, &str),
    errors: &[u16],
) -> Value {
    let mut responses = Map::new();
    responses.insert(
        ok.0.into(),
        json!({ "description": "success", "content": content(ok.1) }),
    );
    // A path parameter that names nothing, or is not an id at all: 404.
    let not_found = (!params.is_empty()).then_some(&404);
    for status in errors.iter().chain(not_found) {
        let what = match status {
            400 => "missing or malformed input",
            404 => "unknown session, agent, visitor or workgroup",
            409 => "state conflict (e.g. agent not ready)",
            413 => "request body too large",
            429 => "queue or capacity limit reached, or too many requests",
            _ => "error",
        };
        responses.insert(
            status.to_string(),
            json!({ "description": what, "content": content("Error") }),
        );
    }
    let mut o = json!({ "summary": summary, "responses": responses });
    if !params.is_empty() {
        // `id:integer` names a path parameter that is a number (an i64).
        o["parameters"] = params
            .iter()
            .map(|p| {
                let (name, schema) = match p.strip_suffix(":integer") {
                    Some(id) => (
                        id,
                        json!({ "type": "integer", "minimum": i64::MIN, "maximum": i64::MAX }),
                    ),
                    None => (*p, name()),
                };
                json!({ "name": name, "in": "path", "required": true, "schema": schema })
            })
            .collect();
    }
    if let Some(b) = body {
        o["requestBody"] = json!({ "required": true, "content": content(b) });
    }
    o
}

/// An operation whose body may be left out (read as `{}`).
fn optional_body(mut o: Value) -> Value {
    o["requestBody"]["required"] = json!(false);
    o
}

const MODES: [&str; 9] = [
    "round_robin",
    "least_active",
    "longest_idle",
    "fastest_response",
    "random",
    "weighted_random",
    "consistent_hash",
    "recent",
    "manual",
];

fn object(required: &[&str], props: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": props })
}

/// A chat body: the same fields as the WebSocket and socket.io frames,
/// whose clients may send more (the conversation's address, the frame's
/// own fields), so a field it does not know is ignored.
fn open(mut schema: Value) -> Value {
    schema["additionalProperties"] = json!(true);
    schema
}

const S: &str = "string";

fn t(kind: &str) -> Value {
    json!({ "type": kind })
}

fn nullable(kind: &str) -> Value {
    json!({ "type": kind, "nullable": true })
}

/// The document.
pub fn document() -> Value {
    let mut doc = paths_and_schemas();
    // The session's fields past what one `json!` can nest.
    let session = &mut doc["components"]["schemas"]["Session"]["properties"];
    session["arrival"] = json!({ "type": "string", "enum": ["link", "entry", "bot"] });
    session["ringing_until"] = json!({ "type": "string", "format": "date-time", "nullable": true });
    for (at, more) in [
        ("paths", workgroup_paths()),
        ("paths", auth_paths()),
        ("paths", media_paths()),
        ("paths", webhook_paths()),
        ("paths", chat_paths()),
        ("components", chat_schemas()),
        ("components", workgroup_schemas()),
        ("components", auth_schemas()),
    ] {
        let target = match at {
            "paths" => &mut doc["paths"],
            _ => &mut doc["components"]["schemas"],
        };
        if let (Some(target), Value::Object(more)) = (target.as_object_mut(), more) {
            target.extend(more);
        }
    }
    secure(&mut doc);
    closed_bodies(&mut doc);
    doc
}

/// Narrows `NotReady.reason` in `doc` to `reasons`, the center's own.
pub fn not_ready_reasons(doc: &mut Value, reasons: &[String]) {
    doc["components"]["schemas"]["NotReady"]["properties"]["reason"]["enum"] = json!(reasons);
}

/// Request bodies are read strictly (an unknown field is refused, not
/// ignored; an optional field may be null, read as absent): every JSON
/// body's schema says so, unless it says otherwise itself.
fn closed_bodies(doc: &mut Value) {
    let mut names = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for op in paths
            .values()
            .filter_map(Value::as_object)
            .flat_map(|p| p.values())
        {
            let reference = &op["requestBody"]["content"]["application/json"]["schema"]["$ref"];
            if let Some(name) = reference.as_str().and_then(|r| r.rsplit('/').next()) {
                names.push(name.to_owned());
            }
        }
    }
    for name in names {
        strict(&mut doc["components"]["schemas"][&name]);
    }
}

/// Closes one object schema and the objects inside it (unless it says
/// otherwise), and lets an optional field be null.
fn strict(schema: &mut Value) {
    let required: Vec<String> = schema["required"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, prop) in props.iter_mut() {
        if !required.contains(name) && prop.get("nullable").is_none() && prop.get("$ref").is_none()
        {
            prop["nullable"] = json!(true);
            // A null must be one of an enum's values to be allowed.
            if let Some(values) = prop.get_mut("enum").and_then(Value::as_array_mut) {
                values.push(Value::Null);
            }
        }
        if prop.get("items").is_some() {
            strict(&mut prop["items"]);
        }
        strict(prop);
    }
    if schema.get("additionalProperties").is_none() {
        schema["additionalProperties"] = json!(false);
    }
}

/// The security schemes, and on every operation the credentials it takes
/// and the roles that may call it, from the same table the guard enforces.
fn secure(doc: &mut Value) {
    doc["components"]["securitySchemes"] = json!({
        "bearer": { "type": "http", "scheme": "bearer", "description": "A sign-in token (sbs_), an API token (sbt_), a visitor token (sbv_) or the configured admin token." },
        "cookie": { "type": "apiKey", "in": "cookie", "name": COOKIE, "description": "Set by auth/login for browsers; unsafe methods and WebSocket upgrades must come from the server's own Origin." },
        "ticket": { "type": "apiKey", "in": "query", "name": "ticket", "description": "Single-use, short-lived, from auth/ticket: for a browser's WebSocket." },
    });
    for route in ROUTES {
        let op = &mut doc["paths"][route.path][route.method.to_lowercase()];
        if !op.is_object() {
            continue; // the test that compares the document with the table says which
        }
        let roles = who_may(route.access);
        op["x-roles"] = json!(roles);
        let mut schemes = vec![json!({ "bearer": [] }), json!({ "cookie": [] })];
        if route.path == "/room" {
            schemes.push(json!({ "ticket": [] }));
        }
        if roles.contains(&"anyone") {
            schemes.push(json!({}));
        }
        op["security"] = json!(schemes);
        if let Some(responses) = op["responses"].as_object_mut() {
            responses.insert(
                "429".into(),
                json!({ "description": "too many requests from this credential or address (Retry-After)", "content": content("Error") }),
            );
            if !roles.contains(&"anyone") {
                responses.insert(
                    "401".into(),
                    json!({ "description": "no valid credential", "content": content("Error") }),
                );
                responses.insert("403".into(), json!({ "description": "the credential may not do this", "content": content("Error") }));
            }
        }
    }
}

/// Who an access rule admits, in words for the document.
fn who_may(access: Access) -> Vec<&'static str> {
    let from = |min: Role| -> Vec<&'static str> {
        [Role::Agent, Role::Supervisor, Role::Admin]
            .into_iter()
            .filter(|r| *r >= min)
            .map(Role::as_str)
            .collect()
    };
    match access {
        Access::Public => vec!["anyone"],
        Access::Signed => vec!["visitor", "agent", "supervisor", "admin"],
        Access::Staff(min) => from(min),
        Access::OwnAgent(min) => [vec!["agent (its own agent_id)"], from(min)].concat(),
        Access::Session(min) => [
            vec!["visitor (of this session)", "agent (holding it)"],
            from(min),
        ]
        .concat(),
        Access::Held(min) => [vec!["agent (holding it)"], from(min)].concat(),
        Access::Rate => vec!["visitor (of this session)", "admin"],
        Access::VisitorOr(min) => [vec!["visitor (for themselves)"], from(min)].concat(),
        Access::Participant => vec![
            "visitor (of this session)",
            "agent (holding it or rung for it)",
        ],
    }
}

/// Sign-in, accounts, API tokens, visitor links and the audit log.
fn auth_paths() -> Value {
    let id = &["id"][..];
    let none: &[&str] = &[];
    json!({
        "/customer-service/auth/login": { "post": op("Sign in; answers a token and sets the HttpOnly session cookie", none, Some("Login"), ("200", "SignedIn"), &[400, 401, 429]) },
        "/customer-service/auth/logout": { "post": op("Revoke the credential used and clear the cookie", none, None, ("200", "Status"), &[]) },
        "/customer-service/auth/me": { "get": op("Who the credential says the caller is", none, None, ("200", "Me"), &[]) },
        "/customer-service/auth/ticket": { "post": op("A single-use WebSocket ticket (30 s)", none, None, ("200", "Ticket"), &[]) },
        "/customer-service/auth/password": { "post": op("Change one's own password; other sign-ins are revoked", none, Some("PasswordChange"), ("200", "Account"), &[400]) },
        "/customer-service/accounts": {
            "get": op("List accounts", none, None, ("200", "AccountList"), &[]),
            "post": op("Create an account", none, Some("NewAccount"), ("201", "Account"), &[400, 409]),
        },
        "/customer-service/accounts/{username}": { "patch": op("Change role, reset password or disable; revokes the account's sign-ins", &["username"], Some("AccountPatch"), ("200", "Account"), &[400, 404]) },
        "/customer-service/tokens": {
            "get": op("List API tokens (never their secrets)", none, None, ("200", "TokenList"), &[]),
            "post": op("Issue a named API token; the secret is shown once", none, Some("NewToken"), ("201", "Token"), &[400]),
        },
        "/customer-service/tokens/{id}": { "delete": op("Revoke an API token", &["id:integer"], None, ("200", "Status"), &[400, 404]) },
        "/customer-service/audit": { "get": op("The audit log, newest first; filters actor, action, since, until (Unix ms), limit", none, None, ("200", "AuditLog"), &[400]) },
        "/customer-service/sessions/{id}/link": { "post": optional_body(op("A signed, expiring visitor link for an open session, with its QR code", id, Some("NewLink"), ("201", "Link"), &[400, 404, 409])) },
        "/customer-service/links/{id}": { "delete": op("Revoke a visitor link", id, None, ("200", "Status"), &[404]) },
    })
}

/// WHIP/WHEP and the media connections they make (SDP bodies, not JSON).
fn media_paths() -> Value {
    let sdp = |what: &str| json!({ "required": true, "content": { "application/sdp": { "schema": { "type": "string" }, "example": what } } });
    let offer = |summary: &str| {
        let mut o = op(
            summary,
            &["id"],
            None,
            ("201", "Status"),
            &[400, 404, 409, 415],
        );
        o["requestBody"] = sdp("v=0 ... (an SDP offer)");
        o["responses"]["201"] = json!({
            "description": "the SDP answer; Location is the connection's URL, Link the ICE servers",
            "headers": { "Location": { "schema": { "type": "string" } }, "Link": { "schema": { "type": "string" } } },
            "content": { "application/sdp": { "schema": { "type": "string" } } },
        });
        o
    };
    let preflight = || {
        let mut o = op(
            "CORS preflight: what the URL accepts",
            &["id"],
            None,
            ("204", "Status"),
            &[],
        );
        o["responses"] = json!({
            "204": { "description": "Accept-Post or Accept-Patch, Allow, Access-Control-*" },
            "404": { "description": "no such session or connection", "content": content("Error") },
        });
        o
    };
    let mut trickle = op("Trickle ICE candidates (application/trickle-ice-sdpfrag); an ICE restart is refused (POST a new offer instead)", &["id"], None, ("204", "Status"), &[403, 404, 422]);
    trickle["requestBody"] = json!({ "required": true, "content": { "application/trickle-ice-sdpfrag": { "schema": { "type": "string" } } } });
    trickle["responses"]["204"] = json!({ "description": "candidates added" });
    json!({
        "/customer-service/sessions/{id}/whip": {
            "post": offer("WHIP: publish (or, with a sendrecv offer, publish and play) the caller's side of the call"),
            "options": preflight(),
        },
        "/customer-service/sessions/{id}/ice-servers": {
            "get": op("STUN/TURN servers for this participant, with TURN credentials of its own (minted with coturn's shared secret when configured)", &["id"], None, ("200", "IceServers"), &[403, 404]),
        },
        "/customer-service/sessions/{id}/whep": {
            "post": offer("WHEP: play the other side of the call"),
            "options": preflight(),
        },
        "/customer-service/media/{id}": {
            "patch": trickle,
            "delete": op("Close this media connection (not the call)", &["id"], None, ("200", "Status"), &[403, 404]),
            "options": preflight(),
        },
        "/": { "get": page("The pages' home: the visitor entry and the agent console") },
        "/visit": { "get": page("The visitor's page: public entry (?workgroup=), or a visitor link (/?session=…&role=customer&token=…)") },
        "/agent": { "get": page("The agent console") },
        "/admin": { "get": page("The back office (supervisors and admins)") },
        "/web/{file}": {
            "get": {
                "summary": "The browser files (the pages' modules and style, call.js, call-test.html), embedded in the binary",
                "parameters": [{ "name": "file", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": { "200": { "description": "the file" }, "404": { "description": "no such file", "content": content("Error") } },
            },
        },
        "/customer-service/sessions/{id}/recordings": {
            "get": op("The call's finished recordings (WebM, one per participant)", &["id"], None, ("200", "Recordings"), &[403, 404]),
        },
        "/customer-service/sessions/{id}/recordings/{file}": {
            "get": {
                "summary": "Download a recording (video/webm)",
                "parameters": [
                    { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } },
                    { "name": "file", "in": "path", "required": true, "schema": { "type": "string" } },
                ],
                "responses": {
                    "200": { "description": "the file", "content": { "video/webm": { "schema": { "type": "string", "format": "binary" } } } },
                    "404": { "description": "no such recording", "content": content("Error") },
                },
            },
        },
        "/customer-service/sessions/{id}/quality": {
            "get": op("Call quality per connection: bitrate, loss, RTT, jitter", &["id"], None, ("200", "Quality"), &[403, 404]),
        },
    })
}

/// Webhook subscriptions, their delivery log and redelivery.
fn webhook_paths() -> Value {
    let id = &["id:integer"][..];
    let mut redeliver = op(
        "Queue an event (evt_…) again",
        &["id:integer", "event"],
        None,
        ("200", "Status"),
        &[400, 404],
    );
    redeliver["parameters"][1]["schema"] =
        json!({ "type": "string", "pattern": "^(evt_)?[0-9]{1,18}$" });
    let none: &[&str] = &[];
    json!({
        "/customer-service/webhooks": {
            "get": op("List webhook subscriptions (never their secrets)", none, None, ("200", "WebhookList"), &[]),
            "post": op("Subscribe a URL to events; the signing secret is shown once", none, Some("NewWebhook"), ("201", "Webhook"), &[400]),
        },
        "/customer-service/webhooks/{id}": {
            "patch": op("Change a subscription's URL, events or enabled flag", id, Some("WebhookPatch"), ("200", "Webhook"), &[400, 404]),
            "delete": op("Remove a subscription and what it is still owed", id, None, ("200", "Status"), &[400, 404]),
        },
        "/customer-service/webhooks/{id}/deliveries": {
            "get": op("The subscription's delivery attempts, newest first", id, None, ("200", "Deliveries"), &[400, 404]),
        },
        "/customer-service/webhooks/{id}/events/{event}/redeliver": { "post": redeliver },
    })
}

/// Query parameters of a history page.
fn paged(mut o: Value, extra: &[&str]) -> Value {
    let mut params: Vec<Value> = o["parameters"].as_array().cloned().unwrap_or_default();
    for q in extra {
        params.push(json!({ "name": q, "in": "query", "required": false, "schema": name() }));
    }
    for q in ["after", "before"] {
        params.push(json!({ "name": q, "in": "query", "required": false, "schema": { "type": "integer", "minimum": 0, "maximum": u64::MAX } }));
    }
    params.push(json!({ "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 0, "maximum": u32::MAX, "description": format!("0 or none: the default page; more than {PAGE_MAX} reads {PAGE_MAX}") } }));
    o["parameters"] = Value::Array(params);
    o
}

/// A page of the browser UI (the embedded shell).
fn page(summary: &str) -> Value {
    json!({ "summary": summary, "responses": { "200": { "description": "the page (text/html)" } } })
}

/// A canned response's path parameter: its shortcode.
fn shortcode(mut o: Value) -> Value {
    let pattern = format!("^[A-Za-z0-9_-]{{1,{SHORTCODE_MAX}}}$");
    o["parameters"][0]["schema"] = json!({ "type": "string", "pattern": pattern });
    o
}

fn chat_paths() -> Value {
    let id = &["id"][..];
    let none: &[&str] = &[];
    json!({
        "/customer-service/sessions/{id}/messages": {
            "get": paged(op("A page of the session's chat (notes for staff only)", id, None, ("200", "History"), &[400, 403, 404]), &[]),
            "post": op("Send a message (or, with private, a note for staff); retries with the same client_id are not stored twice", id, Some("SendMessage"), ("200", "Sent"), &[400, 403, 404, 409, 413]),
        },
        "/customer-service/sessions/{id}/receipts": {
            "post": op("Move the caller's delivered / read watermarks", id, Some("ReceiptBody"), ("200", "Object"), &[400, 403, 404]),
        },
        "/customer-service/sessions/{id}/close": {
            "post": op("End the chat with a comment and tags", id, Some("CloseBody"), ("200", "Object"), &[400, 403, 404, 409]),
        },
        "/customer-service/sessions/{id}/transcript": {
            "get": {
                "summary": "The whole conversation, as JSON or (format=text) plain text",
                "parameters": [
                    { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } },
                    { "name": "format", "in": "query", "required": false, "schema": { "type": "string", "enum": ["json", "text"] } },
                ],
                "responses": {
                    "200": { "description": "the transcript", "content": { "application/json": { "schema": schema("Object") }, "text/plain": { "schema": { "type": "string" } } } },
                    "400": { "description": "an unknown format", "content": content("Error") },
                    "403": { "description": "not a participant", "content": content("Error") },
                    "404": { "description": "unknown session", "content": content("Error") },
                },
            },
        },
        "/customer-service/sessions/{id}/attachments": {
            "post": {
                "summary": "Upload a file (the body; Content-Type one of png, jpeg, gif, webp, pdf, text, true to its bytes; at most 10 MiB) as a message",
                "parameters": [
                    { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } },
                    { "name": "name", "in": "query", "required": false, "schema": { "type": "string" } },
                    { "name": "caption", "in": "query", "required": false, "schema": { "type": "string" } },
                    { "name": "client_id", "in": "query", "required": false, "schema": { "type": "string" } },
                ],
                "requestBody": { "required": true, "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } },
                "responses": {
                    "200": { "description": "the message carrying it", "content": content("Sent") },
                    "404": { "description": "unknown session", "content": content("Error") },
                    "413": { "description": "too large", "content": content("Error") },
                    "415": { "description": "type not accepted, or not what the bytes are", "content": content("Error") },
                },
            },
        },
        "/customer-service/sessions/{id}/attachments/{file}": {
            "get": {
                "summary": "Download an attachment (participants and staff; served with nosniff and a sandbox policy)",
                "parameters": [
                    { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } },
                    { "name": "file", "in": "path", "required": true, "schema": { "type": "string" } },
                ],
                "responses": {
                    "200": { "description": "the file", "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } },
                    "404": { "description": "no such attachment here", "content": content("Error") },
                },
            },
        },
        "/customer-service/customers/{id}": {
            "get": op("A visitor's sessions, newest first, with the private notes kept in them (supervisors, and the agent serving the visitor now)", id, None, ("200", "Object"), &[403]),
        },
        "/customer-service/chats": {
            "get": op("The calling agent's conversations with unread counts", none, None, ("200", "Object"), &[403]),
        },
        "/customer-service/internal/messages": {
            "get": paged(op("A page of a direct conversation or a workgroup channel", none, None, ("200", "History"), &[400, 403, 404]), &["to_agent", "workgroup"]),
            "post": op("Message another agent (to_agent) or a workgroup channel (workgroup)", none, Some("SendInternal"), ("200", "Sent"), &[400, 403, 404, 413]),
        },
        "/customer-service/canned-responses": {
            "get": op("Every canned response", none, None, ("200", "Object"), &[]),
        },
        "/customer-service/canned-responses/{id}": {
            "put": shortcode(op("Create or replace the canned response /{id}", id, Some("CannedBody"), ("200", "Object"), &[400])),
            "delete": shortcode(op("Delete a canned response", id, None, ("200", "Status"), &[404])),
        },
        "/socket.io/": {
            "get": { "summary": "socket.io (protocol v5): engine.io polling and the WebSocket upgrade; the connect packet's auth.token is the credential (see docs/chat.md)", "responses": { "200": { "description": "engine.io" } } },
            "post": { "summary": "socket.io polling: client packets", "responses": { "200": { "description": "engine.io" } } },
        },
        "/customer-service/notifications": {
            "post": op("Send a system_notification to agents (all, a workgroup's, or one)", none, Some("NotificationBody"), ("200", "Object"), &[400, 404]),
        },
    })
}

fn chat_schemas() -> Value {
    let to_send = json!({
        "text": text(MESSAGE_MAX, true),
        "client_id": { "type": "string", "minLength": 1, "maxLength": CLIENT_ID_MAX },
        "private": { "type": "boolean", "nullable": false },
    });
    let mut internal = object(&["text"], to_send.clone());
    internal["properties"]["to_agent"] = name();
    internal["properties"]["workgroup"] = name();
    internal["oneOf"] = json!([
        { "required": ["to_agent"], "properties": { "to_agent": t(S) } },
        { "required": ["workgroup"], "properties": { "workgroup": t(S) } },
    ]);
    internal["description"] = json!("exactly one of to_agent and workgroup");
    let internal = open(internal);
    let message = object(
        &["conversation", "seq", "from", "kind", "text", "at"],
        json!({
            "conversation": t(S), "seq": t("integer"), "kind": { "type": "string", "enum": ["text", "note", "file", "system"] },
            "from": object(&["role", "id", "name"], json!({ "role": t(S), "id": t(S), "name": t(S) })),
            "text": t(S), "client_id": t(S), "at": t("integer"), "attachment": t("object"), "data": t("object"),
        }),
    );
    json!({
        "Object": t("object"),
        "Message": message,
        "History": object(&["conversation", "messages"], json!({ "conversation": t(S), "messages": { "type": "array", "items": schema("Message") }, "receipts": { "type": "array", "items": t("object") }, "has_more": t("boolean") })),
        "Sent": object(&["status", "duplicate", "message"], json!({ "status": t(S), "duplicate": t("boolean"), "message": schema("Message") })),
        "SendMessage": open(object(&["text"], to_send)),
        "SendInternal": internal,
        "ReceiptBody": open(object(&[], json!({ "delivered": { "type": "integer", "minimum": 0, "maximum": u64::MAX, "nullable": true }, "read": { "type": "integer", "minimum": 0, "maximum": u64::MAX, "nullable": true } }))),
        "CloseBody": open(object(&[], json!({ "comment": text(MESSAGE_MAX, false), "tags": { "type": "array", "maxItems": TAGS_MAX, "items": text(TAG_LEN_MAX, true), "nullable": false } }))),
        "CannedBody": object(&["text"], json!({ "text": text(MESSAGE_MAX, true) })),
        "NotificationBody": object(&["text"], json!({ "text": text(MESSAGE_MAX, true), "level": { "type": "string", "enum": ["info", "warning", "urgent"] }, "workgroup": name(), "agent_id": name() })),
    })
}

/// A call's quality: per connection and summed over the call.
fn quality_schema() -> Value {
    let path = json!({ "type": "object", "nullable": true,
        "description": "which way the media goes once it flows: the kind of the participant's candidate (relay: through TURN) and whether over ICE-TCP",
        "properties": { "candidate": { "type": "string", "enum": ["host", "srflx", "prflx", "relay"] }, "tcp": t("boolean") } });
    let connection = object(
        &["id", "party"],
        json!({
            "id": t(S), "party": t(S), "connected": t("boolean"), "bitrate_in_kbps": t("integer"), "bitrate_out_kbps": t("integer"),
            "bytes_in": t("integer"), "bytes_out": t("integer"), "loss_in": nullable("number"), "loss_out": nullable("number"),
            "rtt_ms": nullable("number"), "jitter": nullable("integer"), "forwarded": t("integer"),
            "downlink_kbps": nullable("integer"), "bitrate_caps": t("integer"), "nacks_received": t("integer"), "nacks_sent": t("integer"),
            "keyframes_asked_by": t("integer"), "keyframes_asked_of": t("integer"), "path": path,
        }),
    );
    object(
        &["session_id", "connections"],
        json!({ "session_id": t(S),
        "summary": { "type": "object", "nullable": true, "description": "average and worst over the call: samples, rtt_avg_ms, rtt_max_ms, loss_avg, loss_max, bitrate_in_avg_kbps" },
        "connections": { "type": "array", "items": connection } }),
    )
}

fn auth_schemas() -> Value {
    let mut new_account = object(
        &["username", "password", "role"],
        json!({ "username": name(), "password": password(), "role": role(), "agent_id": name(), "display_name": text(NAME_MAX, false) }),
    );
    // An agent account acts as an agent: it names one.
    new_account["anyOf"] = json!([
        { "properties": { "role": { "type": "string", "enum": ["admin", "supervisor"] } } },
        { "required": ["agent_id"], "properties": { "agent_id": { "type": "string" } } },
    ]);
    let account = object(
        &["username", "role"],
        json!({
            "username": t(S), "display_name": nullable(S), "role": { "type": "string", "enum": ["admin", "supervisor", "agent"] },
            "agent_id": nullable(S), "disabled": t("boolean"), "created_at": t("integer"), "updated_at": t("integer"),
        }),
    );
    json!({
        "Login": object(&["username", "password"], json!({ "username": t(S), "password": t(S) })),
        "SignedIn": object(&["token", "expires_at", "account"], json!({ "token": t(S), "expires_at": t("integer"), "account": schema("Account") })),
        "Status": object(&["status"], json!({ "status": t(S) })),
        "Me": object(&["kind"], json!({ "kind": t(S), "name": t(S), "display_name": nullable(S), "role": t(S), "agent_id": nullable(S), "session_id": t(S) })),
        "Ticket": object(&["ticket", "expires_in"], json!({ "ticket": t(S), "expires_in": t("integer") })),
        "PasswordChange": object(&["old_password", "new_password"], json!({ "old_password": t(S), "new_password": password() })),
        "Account": account,
        "AccountList": object(&["accounts", "count"], json!({ "accounts": { "type": "array", "items": schema("Account") }, "count": t("integer") })),
        "NewAccount": new_account,
        "AccountPatch": object(&[], json!({ "role": role(), "password": password(), "disabled": t("boolean"), "display_name": text(NAME_MAX, false) })),
        "NewToken": object(&["name"], json!({ "name": name(), "role": role(), "agent_id": name() })),
        "Token": object(&["id", "name", "role", "token"], json!({ "id": t("integer"), "name": t(S), "role": t(S), "token": t(S) })),
        "TokenList": object(&["tokens", "count"], json!({ "tokens": { "type": "array", "items": object(&["id", "name", "role"], json!({ "id": t("integer"), "name": t(S), "role": t(S) })) }, "count": t("integer") })),
        "AuditLog": object(&["entries", "count"], json!({ "entries": { "type": "array", "items": object(&["at_ms", "actor", "role", "action", "outcome"], json!({
            "at_ms": t("integer"), "actor": t(S), "role": t(S), "action": t(S), "target": nullable(S), "address": nullable(S), "outcome": t(S),
        })) }, "count": t("integer") })),
        "Quality": quality_schema(),
        "IceServers": object(&["session_id", "ice_servers"], json!({ "session_id": t(S), "ice_servers": { "type": "array", "items": object(&["urls"], json!({ "urls": t(S), "username": t(S), "credential": t(S) })) } })),
        "Recordings": object(&["session_id", "recordings"], json!({ "session_id": t(S), "recordings": { "type": "array", "items": object(&["file", "bytes", "duration_ms", "url"], json!({ "file": t(S), "bytes": t("integer"), "duration_ms": t("integer"), "url": t(S) })) } })),
        "Webhook": object(&["id", "url", "events", "enabled"], json!({
            "id": t("integer"), "url": t(S), "events": { "type": "array", "items": { "type": "string", "enum": crate::hooks::EVENTS } },
            "enabled": t("boolean"), "created_at": t("integer"), "secret": { "type": "string", "description": "only when created" },
        })),
        "WebhookList": object(&["webhooks", "count"], json!({ "webhooks": { "type": "array", "items": schema("Webhook") }, "count": t("integer") })),
        "NewWebhook": object(&["url", "events"], json!({ "url": receiver_url(), "events": events(), "enabled": t("boolean") })),
        "WebhookPatch": object(&[], json!({ "url": receiver_url(), "events": events(), "enabled": t("boolean") })),
        "Deliveries": object(&["webhook_id", "deliveries"], json!({ "webhook_id": t("integer"), "deliveries": { "type": "array", "items": object(&["outbox_id", "event", "at_ms", "latency_ms"], json!({
            "outbox_id": t("integer"), "event": t(S), "at_ms": t("integer"), "status": nullable("integer"), "latency_ms": t("integer"), "error": nullable(S),
        })) } })),
        "NewLink": object(&[], json!({ "expires_in_secs": { "type": "integer", "minimum": 1, "maximum": 604800 } })),
        "Link": object(&["link_id", "session_id", "url", "token", "expires_at"], json!({
            "link_id": t(S), "session_id": t(S), "url": t(S), "token": t(S), "expires_at": t("integer"), "qr_svg": t(S),
        })),
    })
}

/// Workgroup routes, and the agent routes that place agents in them.
fn workgroup_paths() -> Value {
    let id = &["id"];
    json!({
            "/customer-service/agents/{id}/workgroups": {
                "put": op("Set the workgroups an agent belongs to, with its skill level in each (higher is offered first)", id, Some("Memberships"), ("200", "Agent"), &[400, 404, 413]),
            },
            "/customer-service/agents/{id}/capacity": {
                "put": op("Set how many calls an agent holds at once (1 to 100, not below what it holds)", id, Some("Capacity"), ("200", "Agent"), &[400, 404, 413]),
            },
            "/customer-service/workgroups": {
                "get": op("Workgroups with their settings, queue and service level", &[], None, ("200", "WorkgroupList"), &[]),
                "post": op("Create a workgroup", &[], Some("CreateWorkgroup"), ("201", "Workgroup"), &[400, 404, 409, 413, 429]),
            },
            "/customer-service/workgroups/{id}": {
                "get": op("One workgroup", id, None, ("200", "Workgroup"), &[404]),
                "patch": op("Change a workgroup's settings (JSON merge patch; null clears overflow)", id, Some("WorkgroupSettings"), ("200", "Workgroup"), &[400, 404, 413]),
            },
            "/customer-service/workgroups/{id}/forecast": {
                "get": op("The group's live staffing advice: Erlang A on the last 15/60 minutes of traffic (null before the first computation)", id, None, ("200", "Forecast"), &[404]),
            },
            "/customer-service/workgroups/{id}/bot": {
                "get": op("The group's bot front desk: settings (the secret only as secret_set) and figures", id, None, ("200", "Object"), &[404]),
                "put": op("Put a bot in front of the group: YAML or JSON (see docs/bot.md); a webhook secret left out is kept", id, Some("Object"), ("200", "Object"), &[400, 404, 413]),
                "delete": op("Take the bot away (refused while a visitor is with it)", id, None, ("200", "Object"), &[400, 404]),
            },
            "/customer-service/sessions/{id}/bot/escalate": {
                "post": op("The visitor asks the bot for a person: hands over at once", id, None, ("200", "Session"), &[403, 404, 409]),
            },
            "/customer-service/sessions/{id}/bot/refuse": {
                "post": op("The visitor declines the transfer under way and stays with the bot", id, None, ("200", "Session"), &[403, 404, 409]),
            },
    })
}

/// Schemas of routing, workgroups, memberships and capacity.
fn workgroup_schemas() -> Value {
    let settings = json!({
        "name": { "type": "string", "maxLength": NAME_MAX, "nullable": true }, "routing_mode": schema("RoutingMode"),
        "overflow_after_secs": { "type": "integer", "minimum": 1, "maximum": 86400, "nullable": true },
        "overflow_to": { "type": "string", "pattern": NAME_PATTERN, "maxLength": ID_MAX, "nullable": true },
        "service_level_secs": { "type": "integer", "minimum": 1, "maximum": 86400, "default": 20, "nullable": false },
        "service_level_percent": { "type": "integer", "minimum": 1, "maximum": 99, "default": 80, "nullable": false, "description": "the service-level target: share of visitors to answer within service_level_secs" },
        "public_join": { "type": "boolean", "default": true, "nullable": false },
        "read_receipts": { "type": "boolean", "default": true, "nullable": false, "description": "whether visitors are told when agents have read their messages" },
    });
    let mut create_workgroup = object(&["workgroup_id"], settings.clone());
    create_workgroup["properties"]["workgroup_id"] = name();
    // An overflow rule is a wait and a group: both, or neither.
    create_workgroup["anyOf"] = json!([
        { "properties": {
            "overflow_after_secs": { "nullable": true, "enum": [null] },
            "overflow_to": { "nullable": true, "enum": [null] },
        } },
        { "required": ["overflow_after_secs", "overflow_to"], "properties": {
            "overflow_after_secs": { "type": "integer" },
            "overflow_to": { "type": "string" },
        } },
    ]);
    json!({
            "Routing": object(&["routing_mode", "workgroups"], json!({
                "routing_mode": schema("RoutingMode"),
                "next_agent_id": nullable(S), "ready_agents": t("integer"), "queue_length": t("integer"),
                "workgroups": { "type": "array", "items": object(&["workgroup_id", "routing_mode"], json!({
                    "workgroup_id": t(S), "routing_mode": schema("RoutingMode"), "next_agent_id": nullable(S),
                    "ready_agents": t("integer"), "queue_length": t("integer"),
                })) },
            })),
            "RoutingMode": { "type": "string", "enum": MODES },
            "WorkgroupSettings": object(&[], settings.clone()),
            "CreateWorkgroup": create_workgroup,
            "Workgroup": object(&["workgroup_id", "routing_mode"], json!({
                "workgroup_id": t(S), "name": t(S), "routing_mode": schema("RoutingMode"),
                "overflow_after_secs": nullable("integer"), "overflow_to": nullable(S), "public_join": t("boolean"), "read_receipts": t("boolean"),
                "waiting": t("integer"), "overflowed_in": t("integer"), "longest_wait_ms": t("integer"),
                "ready_agents": t("integer"), "next_agent_id": nullable(S),
                "service_level": nullable("number"), "service_level_secs": t("integer"), "average_answer_ms": nullable("integer"),
                "offered": t("integer"), "answered": t("integer"), "answered_in_time": t("integer"), "abandoned": t("integer"),
                "service_level_percent": t("integer"), "forecast": schema("Forecast"),
            })),
            "Forecast": { "nullable": true, "allOf": [object(&["workgroup_id", "computed_at_ms", "aht_secs", "agents_signed_in"], json!({
                "workgroup_id": t(S), "computed_at_ms": t("integer"),
                "arrivals_per_hour": nullable("number"), "arrivals_per_hour_60": nullable("number"),
                "aht_secs": t("number"), "handled_60": t("integer"), "settled": t("boolean"), "patience_secs": nullable("number"),
                "service_level_secs": t("integer"), "service_level_target": t("number"),
                "agents_signed_in": t("integer"), "agents_needed": nullable("integer"),
                "service_level_expected": nullable("number"), "abandon_expected": nullable("number"),
                "expected_wait_secs": nullable("number"),
            }))] },
            "WorkgroupList": object(&["workgroups", "count"], json!({ "workgroups": { "type": "array", "items": schema("Workgroup") }, "count": t("integer") })),
            "Memberships": object(&["workgroups"], json!({ "workgroups": { "type": "array", "minItems": 1, "maxItems": 32, "items": object(&["workgroup_id"], json!({
                "workgroup_id": name(), "level": { "type": "integer", "minimum": 1, "maximum": 10, "default": 1, "nullable": false },
            })) } })),
            "Capacity": object(&["max_concurrent"], json!({ "max_concurrent": { "type": "integer", "minimum": 1, "maximum": 100 } })),
    })
}

fn paths_and_schemas() -> Value {
    let id = &["id"];
    let body_errors = &[400, 404, 409, 413, 429][..];
    let room_params: Vec<Value> = ["type", "role", "agent_id", "visitor_id", "room_id"]
        .iter()
        .map(|p| {
            let required = *p == "type" || *p == "role";
            json!({ "name": p, "in": "query", "required": required, "schema": { "type": "string" } })
        })
        .collect();
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Switchboard customer-service API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Queue, ring, answer, transfer and rate 1v1 customer-service calls. Errors are {\"error\":{\"code\",\"message\"}}.",
        },
        "paths": {
            "/customer-service/sessions": {
                "get": op("List sessions", &[], None, ("200", "SessionList"), &[]),
                "post": op("Create a session and queue it for an agent", &[], Some("CreateSession"), ("201", "Session"), &[400, 409, 413, 429]),
            },
            "/customer-service/sessions/{id}": {
                "get": op("Get a session", id, None, ("200", "Session"), &[404]),
                "delete": op("End a session (Waiting or Active); the record is kept", id, None, ("200", "Session"), &[404, 409]),
            },
            "/customer-service/sessions/{id}/assign": {
                "post": op("Ring a chosen Ready agent for a waiting session", id, Some("Assign"), ("200", "Session"), body_errors),
            },
            "/customer-service/sessions/{id}/transfer": {
                "post": op("Transfer an active call to another Ready agent", id, Some("Transfer"), ("200", "Session"), body_errors),
            },
            "/customer-service/sessions/{id}/rate": {
                "post": op("Rate an ended call, 1 to 5, once", id, Some("Rate"), ("200", "Rating"), body_errors),
            },
            "/customer-service/sessions/{id}/rating": {
                "get": op("Get a session's rating", id, None, ("200", "Rating"), &[404]),
            },
            "/customer-service/agents": {
                "get": op("List agents", &[], None, ("200", "AgentList"), &[]),
            },
            "/customer-service/agents/register": {
                "post": op("Sign an agent in as Ready", &[], Some("Register"), ("200", "Agent"), &[400, 409, 413, 429]),
            },
            "/customer-service/agents/available": {
                "get": op("List Ready agents", &[], None, ("200", "AgentList"), &[]),
            },
            "/customer-service/agents/stats": {
                "get": op("Agents by state", &[], None, ("200", "AgentCounts"), &[]),
            },
            "/customer-service/agents/{id}/offline": {
                "post": op("Sign an agent out, releasing its offer or call", id, None, ("200", "Agent"), &[404]),
            },
            "/customer-service/agents/{id}/available": {
                "post": op("Make an Online agent Ready", id, None, ("200", "Agent"), &[404, 409]),
            },
            "/customer-service/agents/{id}/unavailable": {
                "post": optional_body(op("Take an agent off calls, for one of the center's not_ready_reasons (body optional: the first reason); in a call, once it ends", id, Some("NotReady"), ("200", "Agent"), &[400, 404, 409])),
            },
            "/customer-service/agents/{id}/accept": {
                "post": optional_body(op("Answer the ringing call (body optional)", id, Some("Accept"), ("200", "Session"), &[400, 404, 409])),
            },
            "/customer-service/agents/{id}/reject": {
                "post": op("Decline the ringing call; the visitor goes back to the head of the queue", id, None, ("200", "Agent"), &[404, 409]),
            },
            "/customer-service/agents/{id}/weight": {
                "put": op("Set an agent's weight for weighted_random routing (1 to 1000)", id, Some("Weight"), ("200", "Agent"), &[400, 404, 413]),
            },
            "/customer-service/routing": {
                "get": op("Routing state per workgroup: the mode and the agent it would ring next, advancing nothing", &[], None, ("200", "Routing"), &[]),
            },
            "/customer-service/queue/join": {
                "post": op("Join the queue; assigned at once if an agent is Ready", &[], Some("Join"), ("200", "JoinResult"), &[400, 404, 409, 413, 429]),
            },
            "/customer-service/queue/leave": {
                "post": op("Leave the queue", &[], Some("Leave"), ("200", "LeaveResult"), &[400, 404, 409, 413]),
            },
            "/customer-service/queue/status": {
                "get": op("Queue snapshot", &[], None, ("200", "QueueStatus"), &[]),
            },
            "/customer-service/queue/position/{visitor_id}": {
                "get": op("A visitor's place", &["visitor_id"], None, ("200", "Position"), &[404]),
            },
            "/customer-service/stats": {
                "get": op("Sessions, agents, queue and ratings", &[], None, ("200", "Stats"), &[]),
            },
            "/customer-service/stats/ratings": {
                "get": op("Ratings: total, average, distribution", &[], None, ("200", "RatingStats"), &[]),
            },
            "/customer-service/stats/trend": {
                "get": {
                    "summary": "Sessions per day",
                    "parameters": [{ "name": "days", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 366, "default": 7 } }],
                    "responses": {
                        "200": { "description": "success", "content": content("Trend") },
                        "400": { "description": "days out of range", "content": content("Error") },
                    },
                },
            },
            "/customer-service/openapi.json": {
                "get": { "summary": "This document", "responses": { "200": { "description": "OpenAPI 3 document" } } },
            },
            "/room": {
                "get": {
                    "summary": "WebSocket signaling (upgrade); see README for frames",
                    "parameters": room_params,
                    "responses": {
                        "101": { "description": "switching protocols" },
                        "400": { "description": "bad query", "content": content("Error") },
                    },
                },
            },
            "/metrics": {
                "get": { "summary": "Prometheus metrics", "responses": { "200": { "description": "text exposition format", "content": { "text/plain": { "schema": t(S) } } } } },
            },
            "/healthz": {
                "get": { "summary": "Liveness", "responses": { "200": { "description": "ok", "content": content("Health") } } },
            },
        },
        "components": { "schemas": {
            "Error": object(&["error"], json!({ "error": object(&["code", "message"], json!({ "code": t(S), "message": t(S) })) })),
            "Session": object(&["session_id", "room_id", "status", "customer_id", "created_at"], json!({
                "session_id": t(S), "room_id": t(S), "title": t(S), "description": nullable(S),
                "customer_id": t(S), "customer_name": nullable(S), "preferred_skill": nullable(S), "workgroup_id": t(S),
                "status": { "type": "string", "enum": ["bot", "waiting", "active", "ended"] },
                "agent_id": nullable(S), "ringing_agent_id": nullable(S),
                "media": { "type": "string", "enum": ["audio", "video"], "nullable": true },
                "channel": { "type": "string", "enum": ["video", "chat"] },
                "created_at": { "type": "string", "format": "date-time" },
                "started_at": { "type": "string", "format": "date-time", "nullable": true },
                "ended_at": { "type": "string", "format": "date-time", "nullable": true },
                "duration_secs": nullable("integer"), "end_reason": nullable(S), "ended_by": nullable(S),
                "transfers": t("integer"), "agent_muted": t("boolean"), "customer_muted": t("boolean"),
                "rating": { "allOf": [schema("Rating")], "nullable": true },
                "bot": object(&["phase", "attempts"], json!({
                    "phase": { "type": "string", "enum": ["talking", "handing_over", "retrying", "fallback", "done"] },
                    "outcome": { "type": "string", "enum": ["resolved", "handed_over", "fallback", "left"], "nullable": true },
                    "attempts": t("integer"),
                })),
                "bot_detail": { "type": "object", "description": "staff and agents only: the handoff context, the decisions with their parts and scores, the ticket" },
            })),
            "SessionList": object(&["sessions", "count"], json!({ "sessions": { "type": "array", "items": schema("Session") }, "count": t("integer") })),
            "CreateSession": object(&["title", "customer_id"], json!({ "title": text(NAME_MAX, true), "customer_id": name(), "customer_name": text(NAME_MAX, false), "description": text(TEXT_MAX, false) })),
            "Assign": object(&["agent_id"], json!({ "agent_id": name() })),
            "Transfer": object(&["target_agent_id"], json!({ "target_agent_id": name() })),
            "Rate": object(&["rating"], json!({ "rating": { "type": "integer", "minimum": 1, "maximum": 5 }, "comment": text(TEXT_MAX, false) })),
            "Rating": object(&["session_id", "rating"], json!({ "session_id": t(S), "rating": t("integer"), "comment": nullable(S), "rated_at": { "type": "string", "format": "date-time" } })),
            "Register": object(&["agent_id"], json!({ "agent_id": name(), "agent_name": text(NAME_MAX, false) })),
            "Agent": object(&["agent_id", "agent_name", "status"], json!({
                "agent_id": t(S), "agent_name": t(S),
                "status": { "type": "string", "enum": ["offline", "online", "ready", "ringing", "busy"] },
                "session_id": nullable(S), "sessions": { "type": "array", "items": t(S) },
                "max_concurrent": t("integer"), "workgroups": { "type": "array", "items": t("object") },
                "status_since": { "type": "string", "format": "date-time" }, "stats": t("object"),
                "not_ready": { "type": "object", "nullable": true, "description": "while the agent wants no calls: reason and since" },
            })),
            "AgentList": object(&["agents", "count"], json!({ "agents": { "type": "array", "items": schema("Agent") }, "count": t("integer"), "not_ready_reasons": { "type": "array", "items": t(S) } })),
            "AgentCounts": object(&["total"], json!({ "total": t("integer"), "offline": t("integer"), "online": t("integer"), "ready": t("integer"), "ringing": t("integer"), "busy": t("integer") })),
            "Accept": object(&[], json!({ "media": { "type": "string", "enum": ["audio", "video"] } })),
            "NotReady": object(&[], json!({ "reason": name() })),
            "Join": object(&["visitor_id"], json!({ "visitor_id": name(), "visitor_name": text(NAME_MAX, false), "preferred_skill": name(), "priority": { "type": "integer", "minimum": 0, "maximum": 9, "default": 0 }, "channel": { "type": "string", "enum": ["video", "chat"], "default": "video", "nullable": false }, "question": text(TEXT_MAX, false) })),
            "JoinResult": object(&["status", "session_id", "room_id"], json!({
                "status": { "type": "string", "enum": ["assigned", "queued"] }, "session_id": t(S), "room_id": t(S),
                "agent_id": t(S), "position": t("integer"), "queue_length": t("integer"),
            })),
            "Leave": object(&["visitor_id"], json!({ "visitor_id": name() })),
            "LeaveResult": object(&["status", "visitor_id"], json!({ "status": t(S), "visitor_id": t(S), "session_id": t(S) })),
            "QueueStatus": object(&["length", "max", "entries"], json!({
                "length": t("integer"), "max": t("integer"), "waiting": t("integer"), "longest_wait_ms": t("integer"),
                "ready_agents": t("integer"), "next_agent_id": nullable(S), "entries": { "type": "array", "items": t("object") },
            })),
            "Position": object(&["visitor_id", "session_id", "status"], json!({
                "visitor_id": t(S), "session_id": t(S), "status": t(S), "position": nullable("integer"),
                "queue_length": t("integer"), "agent_id": nullable(S),
            })),
            "Stats": object(&["sessions", "agents", "queue", "ratings"], json!({ "sessions": t("object"), "agents": schema("AgentCounts"), "queue": t("object"), "ratings": schema("RatingStats"), "totals": t("object") })),
            "RatingStats": object(&["total", "average", "distribution"], json!({ "total": t("integer"), "average": t("number"), "distribution": t("object") })),
            "Trend": object(&["days", "trend"], json!({ "days": t("integer"), "trend": { "type": "array", "items": object(&["date"], json!({ "date": t(S), "created": t("integer"), "answered": t("integer"), "completed": t("integer") })) } })),
            "Health": object(&["status"], json!({
                "status": t(S),
                "role": { "type": "string", "enum": ["single", "leader", "follower"] },
                "applied_log": t("integer"),
                "stale": t("boolean"),
            })),
            "Weight": object(&["weight"], json!({ "weight": { "type": "integer", "minimum": 1, "maximum": 1000 } })),
        } },
    })
}
