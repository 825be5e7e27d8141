//! The OpenAPI 3.0 document, generated from the route table at start-up.

use serde_json::{Map, Value, json};

use crate::routes::Doc;

fn error_responses() -> Map<String, Value> {
    let mut m = Map::new();
    for (code, what) in [
        ("400", "Malformed request"),
        ("401", "Not authenticated"),
        ("403", "Not allowed"),
        ("404", "Not found"),
        ("409", "Conflict"),
        ("413", "Body too large"),
        ("415", "Unsupported media type"),
        ("422", "Invalid record"),
        ("429", "Rate limited"),
    ] {
        m.insert(
            code.into(),
            json!({"description": what, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
        );
    }
    m
}

fn operation(d: &Doc) -> Value {
    let mut params: Vec<Value> = Vec::new();
    if d.path.contains("{id}") {
        params.push(json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}));
    }
    for q in d.query {
        params.push(json!({"name": q, "in": "query", "required": false, "schema": {"type": "string"}}));
    }
    let mut responses = error_responses();
    let ok_body = if d.response.is_empty() {
        json!({"description": "Done"})
    } else if d.path.ends_with("/content") {
        json!({"description": "The file", "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}})
    } else {
        json!({"description": "Success", "content": {"application/json": {"schema": {"type": "object", "required": [d.response], "properties": {d.response: {}}}}}})
    };
    responses.insert(d.status.to_string(), ok_body);
    let op_id = format!(
        "{}_{}",
        d.method,
        d.path.trim_start_matches("/api/v2/").replace(['/', '{', '}'], "_").trim_end_matches('_')
    );
    let mut op = json!({
        "operationId": op_id,
        "summary": d.summary,
        "tags": [d.tag],
        "parameters": params,
        "responses": responses,
    });
    match d.body {
        Some("raw") => {
            op["requestBody"] = json!({"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}});
        }
        Some(root) => {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": [root], "properties": {root: {"type": if root == "tickets" { "array" } else { "object" }}}}}}});
        }
        None => {}
    }
    op
}

/// The document for `docs`.
pub fn document(docs: &[Doc]) -> Value {
    let mut paths = Map::new();
    for d in docs {
        let entry = paths.entry(d.path.to_string()).or_insert_with(|| json!({}));
        entry[d.method] = operation(d);
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Suoja API (Zendesk API v2 compatible)", "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": "/"}],
        "security": [{"basicAuth": []}, {"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "basicAuth": {"type": "http", "scheme": "basic", "description": "email/token:API_TOKEN or email:password"},
                "bearerAuth": {"type": "http", "scheme": "bearer"}
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}, "description": {"type": "string"}, "details": {"type": "object"}}}
            }
        }
    })
}
