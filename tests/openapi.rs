//! The served OpenAPI document and the router agree, both ways: every
//! documented operation is routed, and every route in the router's source is
//! documented.

mod common;

use std::collections::BTreeSet;

use common::*;

/// (METHOD, path) pairs of the rule table the router is built from (the
/// router panics at start on a table entry without a handler).
fn routed() -> BTreeSet<(String, String)> {
    switchboard_http::auth::access::ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect()
}

fn documented(doc: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in ops.as_object().expect("operations").keys() {
            out.insert((method.to_uppercase(), path.clone()));
        }
    }
    out
}

#[test]
fn every_route_is_documented_and_every_documented_route_exists() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    let doc = s.get("/customer-service/openapi.json");
    assert_eq!(doc["openapi"], "3.0.3");
    let routes = routed();
    assert!(routes.len() >= 25, "parsed too few routes: {routes:?}");
    let docs = documented(&doc);
    assert_eq!(
        routes.difference(&docs).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routed but not documented"
    );
    assert_eq!(
        docs.difference(&routes).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not routed"
    );
    // Every operation says who may call it.
    for (method, path) in &docs {
        let op = &doc["paths"][path][method.to_lowercase()];
        assert!(
            op["x-roles"].is_array() && op["security"].is_array(),
            "{method} {path}: {op}"
        );
    }
    // And the live server answers each one with something other than "no such route".
    for (method, path) in &docs {
        let concrete = path
            .replace("{id}", "cs_x")
            .replace("{visitor_id}", "v_x")
            .replace("{username}", "nobody")
            .replace("{file}", "call.js");
        let (_, body) = s.call(method, &concrete, Some("{}"));
        let code = body["error"]["code"].as_str().unwrap_or("");
        assert!(
            code != "route_not_found" && code != "method_not_allowed",
            "{method} {path}: {body}"
        );
    }
}

#[test]
fn every_schema_reference_resolves() {
    let s = Server::start(&yaml("  max_queue_size: 10"));
    let doc = s.get("/customer-service/openapi.json");
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = piece.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "dangling $ref {name}");
    }
}
