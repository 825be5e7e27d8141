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
    for name in d.path.split('{').skip(1).filter_map(|p| p.split('}').next()) {
        let schema = match name {
            "id" if d.path.starts_with("/api/v2/job_statuses") => json!({"type": "string", "minLength": 32, "maxLength": 32}),
            "policy" => json!({"type": "string", "enum": suoja_privacy::retention::KINDS.iter().map(|k| k.name).collect::<Vec<_>>()}),
            _ => json!({"type": "integer", "format": "int64", "minimum": 1}),
        };
        params.push(json!({"name": name, "in": "path", "required": true, "schema": schema}));
    }
    for q in d.query {
        // `update_many` takes ids or a list of changes; `show_many` ids or external ids.
        let either = d.path.ends_with("/update_many") || d.query.contains(&"external_ids");
        let required = *q == "query" || (*q == "ids" && !either) || (*q == "filename");
        params.push(json!({"name": q, "in": "query", "required": required, "schema": query_schema(q)}));
    }
    let mut responses = error_responses();
    let ok_body = if d.response.is_empty() {
        json!({"description": "Done"})
    } else if d.response == "csv" {
        json!({"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}})
    } else if d.path.ends_with("/content") || d.path.ends_with("/download") {
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
            suoja_core::json::set(
                &mut op,
                "requestBody",
                json!({"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}),
            );
        }
        Some(flat @ ("reason" | "note" | "code" | "refusal" | "text" | "comment_redaction")) => {
            let schema = match flat {
                "refusal" => json!({"type": "object", "required": ["code", "reason"], "additionalProperties": false, "properties": {
                    "code": {"type": "string", "enum": suoja_privacy::requests::REFUSAL_CODES}, "reason": {"type": "string", "minLength": 1, "maxLength": 2000}}}),
                "comment_redaction" => json!({"type": "object", "required": ["html_body"], "additionalProperties": false, "properties": {
                    "ticket_id": id(), "html_body": {"type": "string", "minLength": 1, "maxLength": 65_536}}}),
                "text" => {
                    json!({"type": "object", "required": ["text"], "additionalProperties": false, "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 10_000}}})
                }
                "code" => {
                    json!({"type": "object", "required": ["token"], "additionalProperties": false, "properties": {"token": {"type": "string", "minLength": 1, "maxLength": 200}}})
                }
                key => {
                    json!({"type": "object", "required": [key], "additionalProperties": false, "properties": {key: {"type": "string", "minLength": 1, "maxLength": 2000}}})
                }
            };
            suoja_core::json::set(
                &mut op,
                "requestBody",
                json!({"required": true, "content": {"application/json": {"schema": schema}}}),
            );
        }
        Some("merge") => {
            let text = json!({"type": "string", "maxLength": 65_536});
            let schema = json!({"type": "object", "required": ["ids"], "additionalProperties": false, "properties": {
                "ids": {"type": "array", "minItems": 1, "maxItems": 5, "items": id()},
                "target_comment": text, "source_comment": text,
                "target_comment_is_public": {"type": "boolean"}, "source_comment_is_public": {"type": "boolean"}}});
            suoja_core::json::set(
                &mut op,
                "requestBody",
                json!({"required": true, "content": {"application/json": {"schema": schema}}}),
            );
        }
        Some(changes @ ("ticket_changes" | "user_changes")) => {
            // One change for the ids of `?ids=`, or a list of changes each naming its id.
            let (one, list, input) = if changes == "ticket_changes" {
                ("ticket", "tickets", "TicketInput")
            } else {
                ("user", "users", "UserInput")
            };
            let each = json!({"type": "object", "required": ["id"], "properties": {"id": id()}});
            let schema = json!({"type": "object", "additionalProperties": false, "minProperties": 1, "maxProperties": 1, "properties": {
                one: {"$ref": format!("#/components/schemas/{input}")},
                list: {"type": "array", "minItems": 1, "maxItems": 100, "items": each}}});
            suoja_core::json::set(
                &mut op,
                "requestBody",
                json!({"required": true, "content": {"application/json": {"schema": schema}}}),
            );
        }
        Some(root) => {
            let inner = match root {
                "users" => json!({"type": "array", "minItems": 1, "maxItems": 100, "items": {"$ref": "#/components/schemas/UserInput"}}),
                "satisfaction_rating" => json!({"type": "object", "required": ["score"], "additionalProperties": false, "properties": {
                    "score": {"type": "string", "enum": ["good", "bad"]}, "comment": {"type": "string", "maxLength": 10_000}}}),
                "group_membership" => json!({"type": "object", "required": ["user_id", "group_id"], "additionalProperties": false, "properties": {
                    "user_id": id(), "group_id": id(), "default": {"type": "boolean"}}}),
                "organization_membership" => {
                    json!({"type": "object", "required": ["user_id", "organization_id"], "additionalProperties": false, "properties": {
                    "user_id": id(), "organization_id": id(), "default": {"type": "boolean"}, "view_tickets": {"type": "boolean"}}})
                }
                "organizations" => json!({"type": "array", "minItems": 1, "maxItems": 100, "items": {"$ref": "#/components/schemas/OrganizationInput"}}),
                "tickets" => json!({"type": "array", "minItems": 1, "maxItems": 100, "items": {"$ref": "#/components/schemas/TicketInput"}}),
                "ticket" => json!({"$ref": "#/components/schemas/TicketInput"}),
                "user" => json!({"$ref": "#/components/schemas/UserInput"}),
                "organization" => json!({"$ref": "#/components/schemas/OrganizationInput"}),
                "group" => json!({"$ref": "#/components/schemas/GroupInput"}),
                "token" => json!({"$ref": "#/components/schemas/TokenInput"}),
                "request" => json!({"$ref": "#/components/schemas/PrivacyRequestInput"}),
                "export" => json!({"$ref": "#/components/schemas/ExportInput"}),
                "webhook" => json!({"$ref": "#/components/schemas/WebhookInput"}),
                "hold" => json!({"$ref": "#/components/schemas/HoldInput"}),
                "retention_policy" => json!({"type": "object", "additionalProperties": false, "minProperties": 1, "properties": {
                    "value": {"type": "integer", "minimum": 1, "maximum": 36_500}, "enabled": {"type": "boolean"}}}),
                "redaction" => json!({"type": "object", "additionalProperties": false, "properties": {
                    "subject": {"type": "string", "minLength": 1, "maxLength": 10_000},
                    "custom_fields": {"type": "array", "maxItems": 100, "items": {"type": "object", "required": ["id"], "additionalProperties": false,
                        "properties": {"id": id(), "text": {"type": "string", "minLength": 1, "maxLength": 10_000}}}}}}),
                "api_token" => json!({"type": "object", "additionalProperties": false, "properties": {"description": {"type": "string", "maxLength": 255}}}),
                "mention" => json!({"type": "object", "additionalProperties": false, "required": ["id", "decision"], "properties": {
                    "id": id(), "decision": {"type": "string", "enum": ["accept", "reject"]}}}),
                "search" => json!({"type": "object", "additionalProperties": false, "properties": {"weak": {"type": "boolean"}}}),
                "settings" => {
                    json!({"type": "object", "additionalProperties": false, "required": ["erasure_comments"], "properties": {"erasure_comments": {"type": "string", "enum": ["tombstone", "delete"]}}})
                }
                _ => json!({"type": "object"}),
            };
            suoja_core::json::set(
                &mut op,
                "requestBody",
                json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": [root], "additionalProperties": false, "properties": {root: inner}}}}}),
            );
        }
        None => {}
    }
    op
}

fn query_schema(name: &str) -> Value {
    match name {
        "page" => json!({"type": "integer", "minimum": 1, "maximum": 100}),
        "per_page" => json!({"type": "integer", "minimum": 1, "maximum": 100}),
        "page[size]" => json!({"type": "integer", "minimum": 1, "maximum": 100}),
        "start_time" => json!({"type": "integer", "minimum": 0, "maximum": 32_503_680_000_i64}),
        "ids" => json!({"type": "string", "pattern": "^[0-9]{1,12}(,[0-9]{1,12}){0,20}$"}),
        "query" => json!({"type": "string", "minLength": 1, "maxLength": 200}),
        "sort_order" => json!({"type": "string", "enum": ["asc", "desc"]}),
        _ => json!({"type": "string"}),
    }
}

/// The OAuth scopes a token may ask for.
fn scope_names() -> Vec<String> {
    let mut out = vec!["read".to_string(), "write".to_string()];
    for r in suoja_helpdesk::tokens::RESOURCES {
        out.push(format!("{r}:read"));
        out.push(format!("{r}:write"));
    }
    out
}

fn id() -> Value {
    json!({"type": "integer", "format": "int64", "minimum": 1})
}

fn nullable_id() -> Value {
    json!({"type": "integer", "format": "int64", "minimum": 1, "nullable": true})
}

fn text(max: u32) -> Value {
    json!({"type": "string", "maxLength": max})
}

fn schemas() -> Value {
    json!({
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}, "description": {"type": "string"}, "details": {"type": "object"}}},
        "CommentInput": {"type": "object", "additionalProperties": false, "properties": {
            "body": text(65_536), "html_body": text(65_536), "public": {"type": "boolean"}, "author_id": id(),
            "uploads": {"type": "array", "maxItems": 20, "items": text(200)}
        }},
        "TicketInput": {"type": "object", "additionalProperties": false, "properties": {
            "subject": text(1024), "comment": {"$ref": "#/components/schemas/CommentInput"}, "description": text(65_536),
            "requester_id": id(), "requester": {"type": "object", "additionalProperties": false, "required": ["email"], "properties": {"name": text(255), "email": {"type": "string", "format": "email"}}},
            "submitter_id": id(), "assignee_id": nullable_id(), "group_id": nullable_id(), "organization_id": nullable_id(),
            "status": {"type": "string", "enum": ["new", "open", "pending", "hold", "solved", "closed"]},
            "priority": {"type": "string", "enum": ["low", "normal", "high", "urgent"], "nullable": true},
            "type": {"type": "string", "enum": ["problem", "incident", "question", "task"], "nullable": true},
            "tags": {"type": "array", "maxItems": 100, "items": text(80)},
            "additional_tags": {"type": "array", "maxItems": 100, "items": text(80)},
            "remove_tags": {"type": "array", "maxItems": 100, "items": text(80)},
            "custom_fields": {"type": "array", "items": {"type": "object", "required": ["id"], "properties": {"id": id(), "value": {}}}},
            "external_id": {"type": "string", "maxLength": 1024, "nullable": true},
            "due_at": {"type": "string", "format": "date-time", "nullable": true},
            "collaborator_ids": {"type": "array", "maxItems": 48, "items": id()},
            "email_cc_ids": {"type": "array", "maxItems": 48, "items": id()},
            "follower_ids": {"type": "array", "maxItems": 48, "items": id()}
        }},
        "UserInput": {"type": "object", "additionalProperties": false, "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 255}, "email": {"type": "string", "format": "email", "nullable": true},
            "role": {"type": "string", "enum": ["end-user", "agent", "admin"]}, "phone": {"type": "string", "maxLength": 64, "nullable": true},
            "details": {"type": "string", "maxLength": 65_536, "nullable": true}, "notes": {"type": "string", "maxLength": 65_536, "nullable": true},
            "tags": {"type": "array", "maxItems": 100, "items": text(80)}, "external_id": {"type": "string", "maxLength": 1024, "nullable": true},
            "user_fields": {"type": "object"}, "organization_id": nullable_id(), "locale": text(16), "time_zone": text(64),
            "verified": {"type": "boolean"}, "suspended": {"type": "boolean"}, "privacy_officer": {"type": "boolean"}, "password": {"type": "string", "minLength": 8, "maxLength": 256}
        }},
        "OrganizationInput": {"type": "object", "additionalProperties": false, "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 255}, "details": {"type": "string", "maxLength": 65_536, "nullable": true},
            "notes": {"type": "string", "maxLength": 65_536, "nullable": true}, "domain_names": {"type": "array", "maxItems": 100, "items": text(255)},
            "tags": {"type": "array", "maxItems": 100, "items": text(80)}, "external_id": {"type": "string", "maxLength": 1024, "nullable": true},
            "group_id": nullable_id(), "shared_tickets": {"type": "boolean"}, "shared_comments": {"type": "boolean"}
        }},
        "TokenInput": {"type": "object", "additionalProperties": false, "properties": {"client_id": text(255), "scopes": {"type": "array", "minItems": 1, "maxItems": 10, "items": {"type": "string", "enum": scope_names()}}, "expires_at": {"type": "string", "format": "date-time"}}},
        "PrivacyRequestInput": {"type": "object", "additionalProperties": false, "required": ["kind"], "properties": {
            "kind": {"type": "string", "enum": ["access", "portability", "rectification", "erasure", "restriction", "objection"]},
            "subject_id": id(), "email": {"type": "string", "format": "email"},
            "channel": {"type": "string", "enum": suoja_privacy::requests::STAFF_CHANNELS},
            "received_at": {"type": "string", "format": "date-time"},
            "changes": {"type": "object", "additionalProperties": false, "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 255}, "email": {"type": "string", "format": "email"},
                "phone": {"type": "string", "maxLength": 64, "nullable": true}, "details": {"type": "string", "maxLength": 1000, "nullable": true},
                "locale": text(16), "time_zone": text(64)}},
            "message": text(5000)
        }},
        "ExportInput": {"type": "object", "additionalProperties": false, "properties": {
            "format": {"type": "string", "enum": ["json", "pdf", "zip"]},
            "filter": {"type": "string", "enum": ["requested", "ccd", "commented", "all"]},
            "include_internal_notes": {"type": "boolean"}
        }},
        "HoldInput": {"type": "object", "additionalProperties": false, "required": ["scope", "ground", "expires_at"], "properties": {
            "scope": {"type": "string", "enum": ["person", "ticket", "tag"]},
            "subject_id": {"type": "integer", "minimum": 1}, "ticket_id": {"type": "integer", "minimum": 1},
            "tag": {"type": "string", "minLength": 1, "maxLength": 80, "pattern": "^[^\\s]+$"},
            "ground": {"type": "string", "enum": suoja_privacy::erasure::holds::GROUNDS.iter().map(|(g, _)| *g).collect::<Vec<_>>()},
            "reference": text(200), "approver_id": {"type": "integer", "minimum": 1},
            "expires_at": {"type": "string", "format": "date-time"}
        }},
        "WebhookInput": {"type": "object", "additionalProperties": false, "required": ["name", "endpoint"], "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 255}, "endpoint": {"type": "string", "format": "uri", "maxLength": 2000},
            "http_method": {"type": "string", "enum": ["POST"]}, "request_format": {"type": "string", "enum": ["json"]},
            "status": {"type": "string", "enum": ["active", "inactive"]}, "description": text(1000),
            "subscriptions": {"type": "array", "maxItems": 20, "items": {"type": "string", "enum": suoja_helpdesk::webhooks::EVENTS}}
        }},
        "GroupInput": {"type": "object", "additionalProperties": false, "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 255}, "description": {"type": "string", "maxLength": 4096, "nullable": true}}}
    })
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
            "schemas": schemas()
        }
    })
}
