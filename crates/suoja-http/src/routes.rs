//! The route table: every API endpoint with its documentation, from which both the router and
//! the OpenAPI document are built, so an undocumented API route cannot exist. The web
//! interface's pages (`crate::web`) are merged in beside it; they are HTML, not API.

use axum::Router;
use axum::response::IntoResponse as _;
use axum::routing::{MethodRouter, delete, get, post, put};

use crate::api_v2::{
    account, api_tokens, audit_logs, audits, breaches, deleted, erasure, groups, help_center as hc, help_center::community as cm,
    help_center::reactions as hcr, incremental, jobs, memberships, mentions, oauth, orgs, privacy, records, redaction, requests, satisfaction, search,
    subprocessors, tickets, uploads, users, webhooks,
};
use crate::{ApiError, AppState, middleware, openapi};

/// What the OpenAPI document says about a route.
#[derive(Debug, Clone, Copy)]
pub struct Doc {
    /// HTTP method, lower case.
    pub method: &'static str,
    /// Path under the server root, with `{id}` parameters.
    pub path: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Group in the document.
    pub tag: &'static str,
    /// Root key of the JSON request body, if any (`"raw"` for a file body).
    pub body: Option<&'static str>,
    /// Success status.
    pub status: u16,
    /// Root key of the success body (`""` for none).
    pub response: &'static str,
    /// Query parameters the route reads.
    pub query: &'static [&'static str],
}

const LIST: &[&str] = &["page", "per_page", "page[size]", "page[after]", "page[before]"];

macro_rules! r {
    ($m:literal, $p:literal, $s:literal, $tag:literal, $body:expr, $status:literal, $resp:literal, $q:expr) => {
        Doc {
            method: $m,
            path: $p,
            summary: $s,
            tag: $tag,
            body: $body,
            status: $status,
            response: $resp,
            query: $q,
        }
    };
}

/// Every route with its handler.
#[rustfmt::skip]
pub fn table() -> Vec<(Doc, MethodRouter<AppState>)> {
    vec![
        (r!("get", "/api/v2/users/me", "The authenticated user", "Users", None, 200, "user", &[]), get(users::me)),
        (r!("get", "/api/v2/users", "List users", "Users", None, 200, "users", &["page", "per_page", "page[size]", "page[after]", "page[before]", "role", "role[]"]), get(users::index)),
        (r!("post", "/api/v2/users", "Create a user", "Users", Some("user"), 201, "user", &[]), post(users::create)),
        (r!("get", "/api/v2/users/search", "Search users", "Users", None, 200, "users", &["query", "external_id"]), get(users::search)),
        (r!("get", "/api/v2/users/show_many", "Show many users by ids or external ids", "Users", None, 200, "users", &["ids", "external_ids"]), get(users::show_many)),
        (r!("post", "/api/v2/users/create_many", "Create up to 100 users (a job)", "Users", Some("users"), 200, "job_status", &[]), post(users::create_many)),
        (r!("post", "/api/v2/users/create_or_update", "Create a user or update the one with its email or external_id", "Users", Some("user"), 200, "user", &[]), post(users::create_or_update)),
        (r!("post", "/api/v2/users/create_or_update_many", "Create or update up to 100 users, each found by email or external_id (a job)", "Users", Some("users"), 200, "job_status", &[]), post(users::create_or_update_many)),
        (r!("put", "/api/v2/users/update_many", "Update up to 100 users by ids or external ids (a job)", "Users", Some("user_changes"), 200, "job_status", &["ids", "external_ids"]), put(users::update_many)),
        (r!("delete", "/api/v2/users/destroy_many", "Delete up to 100 users (soft) by ids or external ids (a job)", "Users", None, 200, "job_status", &["ids", "external_ids"]), delete(users::destroy_many)),
        (r!("get", "/api/v2/users/{id}", "Show a user", "Users", None, 200, "user", &[]), get(users::show)),
        (r!("put", "/api/v2/users/{id}", "Update a user", "Users", Some("user"), 200, "user", &[]), put(users::update)),
        (r!("delete", "/api/v2/users/{id}", "Delete a user (soft)", "Users", None, 200, "user", &[]), delete(users::delete)),
        (r!("get", "/api/v2/users/{id}/identities", "A user's identities (address and phone)", "Users", None, 200, "identities", &[]), get(users::identities)),
        (r!("get", "/api/v2/users/{id}/identities/{identity_id}", "One identity of a user", "Users", None, 200, "identity", &[]), get(users::identity)),
        (r!("get", "/api/v2/users/{id}/tickets/requested", "Tickets the user requested", "Users", None, 200, "tickets", LIST), get(users::requested)),
        (r!("get", "/api/v2/users/{id}/tickets/ccd", "Tickets the user is CC'd on", "Users", None, 200, "tickets", LIST), get(users::ccd)),
        (r!("get", "/api/v2/users/{id}/tickets/assigned", "Tickets assigned to the user", "Users", None, 200, "tickets", LIST), get(users::assigned)),
        (r!("get", "/api/v2/deleted_users", "List deleted users", "Users", None, 200, "deleted_users", LIST), get(users::deleted_index)),
        (r!("get", "/api/v2/deleted_users/count", "Count deleted users", "Users", None, 200, "count", &[]), get(deleted::users_count)),
        (r!("get", "/api/v2/deleted_users/{id}", "Show a deleted user", "Users", None, 200, "deleted_user", &[]), get(users::deleted_show)),
        (r!("delete", "/api/v2/deleted_users/{id}", "Delete a deleted user permanently (runs the erasure pipeline)", "Users", None, 200, "deleted_user", &[]), delete(erasure::destroy_deleted_user)),
        (r!("get", "/api/v2/users/{id}/compliance_deletion_statuses", "Deletion status of a user per product area", "Users", None, 200, "compliance_deletion_statuses", &["application"]), get(erasure::compliance_statuses)),
        (r!("get", "/api/v2/organization_memberships", "List organization memberships", "Organizations", None, 200, "organization_memberships", LIST), get(memberships::index)),
        (r!("post", "/api/v2/organization_memberships", "Put a user in an organization", "Organizations", Some("organization_membership"), 201, "organization_membership", &[]), post(memberships::create)),
        (r!("get", "/api/v2/organization_memberships/{id}", "Show an organization membership (its id is the user's)", "Organizations", None, 200, "organization_membership", &[]), get(memberships::show)),
        (r!("delete", "/api/v2/organization_memberships/{id}", "Take a user out of their organization", "Organizations", None, 204, "", &[]), delete(memberships::delete)),
        (r!("get", "/api/v2/users/{id}/organization_memberships", "A user's organization memberships", "Organizations", None, 200, "organization_memberships", LIST), get(memberships::of_user)),
        (r!("get", "/api/v2/organizations/{id}/organization_memberships", "An organization's memberships", "Organizations", None, 200, "organization_memberships", LIST), get(memberships::of_organization)),
        (r!("get", "/api/v2/organizations", "List organizations", "Organizations", None, 200, "organizations", LIST), get(orgs::index)),
        (r!("post", "/api/v2/organizations", "Create an organization", "Organizations", Some("organization"), 201, "organization", &[]), post(orgs::create)),
        (r!("get", "/api/v2/organizations/search", "Find organizations by name or external id", "Organizations", None, 200, "organizations", &["name", "external_id"]), get(orgs::search)),
        (r!("post", "/api/v2/organizations/create_many", "Create up to 100 organizations (a job)", "Organizations", Some("organizations"), 200, "job_status", &[]), post(orgs::create_many)),
        (r!("get", "/api/v2/organizations/show_many", "Show many organizations by ids or external ids", "Organizations", None, 200, "organizations", &["ids", "external_ids"]), get(orgs::show_many)),
        (r!("get", "/api/v2/organizations/{id}", "Show an organization", "Organizations", None, 200, "organization", &[]), get(orgs::show)),
        (r!("put", "/api/v2/organizations/{id}", "Update an organization", "Organizations", Some("organization"), 200, "organization", &[]), put(orgs::update)),
        (r!("delete", "/api/v2/organizations/{id}", "Delete an organization", "Organizations", None, 204, "", &[]), delete(orgs::delete)),
        (r!("get", "/api/v2/organizations/{id}/tickets", "Tickets of an organization", "Organizations", None, 200, "tickets", LIST), get(orgs::tickets)),
        (r!("get", "/api/v2/group_memberships", "List group memberships", "Groups", None, 200, "group_memberships", LIST), get(memberships::groups_index)),
        (r!("post", "/api/v2/group_memberships", "Put an agent in a group (admins)", "Groups", Some("group_membership"), 201, "group_membership", &[]), post(memberships::group_create)),
        (r!("get", "/api/v2/group_memberships/{id}", "Show a group membership", "Groups", None, 200, "group_membership", &[]), get(memberships::group_show)),
        (r!("delete", "/api/v2/group_memberships/{id}", "Take an agent out of a group (admins)", "Groups", None, 204, "", &[]), delete(memberships::group_delete)),
        (r!("get", "/api/v2/users/{id}/group_memberships", "An agent's group memberships", "Groups", None, 200, "group_memberships", LIST), get(memberships::groups_of_user)),
        (r!("put", "/api/v2/users/{user_id}/group_memberships/{id}/make_default", "Make one of an agent's groups their default (admins)", "Groups", None, 200, "group_memberships", &[]), put(memberships::group_make_default)),
        (r!("get", "/api/v2/groups/{id}/memberships", "A group's memberships", "Groups", None, 200, "group_memberships", LIST), get(memberships::of_group)),
        (r!("get", "/api/v2/groups", "List groups", "Groups", None, 200, "groups", LIST), get(groups::index)),
        (r!("post", "/api/v2/groups", "Create a group", "Groups", Some("group"), 201, "group", &[]), post(groups::create)),
        (r!("get", "/api/v2/groups/{id}", "Show a group", "Groups", None, 200, "group", &[]), get(groups::show)),
        (r!("put", "/api/v2/groups/{id}", "Update a group", "Groups", Some("group"), 200, "group", &[]), put(groups::update)),
        (r!("delete", "/api/v2/groups/{id}", "Delete a group", "Groups", None, 204, "", &[]), delete(groups::delete)),
        (r!("get", "/api/v2/tickets", "List tickets, or (`external_id`) the tickets with that external id", "Tickets", None, 200, "tickets", &["page", "per_page", "page[size]", "page[after]", "page[before]", "external_id"]), get(tickets::index)),
        (r!("post", "/api/v2/tickets", "Create a ticket", "Tickets", Some("ticket"), 201, "ticket", &[]), post(tickets::create)),
        (r!("get", "/api/v2/tickets/show_many", "Show many tickets", "Tickets", None, 200, "tickets", &["ids", "include"]), get(tickets::show_many)),
        (r!("post", "/api/v2/tickets/create_many", "Create up to 100 tickets", "Tickets", Some("tickets"), 200, "job_status", &[]), post(tickets::create_many)),
        (r!("put", "/api/v2/tickets/update_many", "Update up to 100 tickets (a job)", "Tickets", Some("ticket_changes"), 200, "job_status", &["ids"]), put(tickets::update_many)),
        (r!("delete", "/api/v2/tickets/destroy_many", "Delete up to 100 tickets to the trash (a job)", "Tickets", None, 200, "job_status", &["ids"]), delete(tickets::destroy_many)),
        (r!("get", "/api/v2/tickets/{id}", "Show a ticket", "Tickets", None, 200, "ticket", &["include"]), get(tickets::show)),
        (r!("put", "/api/v2/tickets/{id}", "Update a ticket or add a comment", "Tickets", Some("ticket"), 200, "ticket", &[]), put(tickets::update)),
        (r!("delete", "/api/v2/tickets/{id}", "Delete a ticket (to the trash)", "Tickets", None, 204, "", &[]), delete(tickets::delete)),
        (r!("post", "/api/v2/tickets/{id}/merge", "Merge up to five tickets into this one (a job)", "Tickets", Some("merge"), 200, "job_status", &[]), post(tickets::merge)),
        (r!("get", "/api/v2/tickets/{id}/tags", "A ticket's tags", "Tickets", None, 200, "tags", &[]), get(tickets::tags)),
        (r!("post", "/api/v2/tickets/{id}/tags", "Set a ticket's tags", "Tickets", Some("tags"), 200, "tags", &[]), post(tickets::set_tags)),
        (r!("put", "/api/v2/tickets/{id}/tags", "Add tags to a ticket", "Tickets", Some("tags"), 200, "tags", &[]), put(tickets::add_tags)),
        (r!("delete", "/api/v2/tickets/{id}/tags", "Remove tags from a ticket", "Tickets", Some("tags"), 200, "tags", &[]), delete(tickets::remove_tags)),
        (r!("get", "/api/v2/tickets/{id}/comments", "List a ticket's comments", "Tickets", None, 200, "comments", &["page", "per_page", "page[size]", "page[after]", "sort_order", "sort", "include", "include_inline_images"]), get(tickets::comments)),
        (r!("get", "/api/v2/tickets/{id}/comments/count", "Count a ticket's comments", "Tickets", None, 200, "count", &[]), get(tickets::comments_count)),
        (r!("put", "/api/v2/tickets/{id}/comments/{comment_id}/make_private", "Make a public comment private (an internal note)", "Tickets", None, 200, "comment", &[]), put(tickets::make_private)),
        (r!("put", "/api/v2/tickets/{id}/comments/{comment_id}/redact", "Redact text in a comment", "Redaction", Some("text"), 200, "comment", &[]), put(redaction::comment_text)),
        (r!("put", "/api/v2/comment_redactions/{id}", "Redact what <redact> tags enclose in a comment", "Redaction", Some("comment_redaction"), 200, "comment", &[]), put(redaction::comment_html)),
        (r!("put", "/api/v2/tickets/{id}/comments/{comment_id}/attachments/{attachment_id}/redact", "Redact an attachment or call recording", "Redaction", None, 200, "attachment", &[]), put(redaction::attachment)),
        (r!("put", "/api/v2/tickets/{id}/redact", "Redact text in the subject or custom fields", "Redaction", Some("redaction"), 200, "ticket", &[]), put(redaction::ticket_fields)),
        (r!("get", "/api/v2/tickets/{id}/audits", "A ticket's audits, oldest first: every change, comment, notification and redaction (staff)", "Ticket audits", None, 200, "audits", &["page", "per_page", "page[size]", "page[after]"]), get(audits::for_ticket)),
        (r!("get", "/api/v2/tickets/{ticket_id}/audits/count", "How many audits a ticket has (staff)", "Ticket audits", None, 200, "count", &[]), get(audits::count)),
        (r!("get", "/api/v2/tickets/{ticket_id}/audits/{id}", "One audit of a ticket (staff)", "Ticket audits", None, 200, "audit", &[]), get(audits::show)),
        (r!("get", "/api/v2/ticket_audits", "Every ticket's audits, newest first, by cursor (admins)", "Ticket audits", None, 200, "audits", &["limit", "cursor"]), get(audits::index)),
        (r!("post", "/api/v2/tickets/{id}/satisfaction_rating", "Rate a solved ticket (its requester)", "Satisfaction ratings", Some("satisfaction_rating"), 200, "satisfaction_rating", &[]), post(satisfaction::rate)),
        (r!("get", "/api/v2/satisfaction_ratings", "List satisfaction ratings (staff)", "Satisfaction ratings", None, 200, "satisfaction_ratings", &["score", "page[size]", "page[after]", "per_page"]), get(satisfaction::index)),
        (r!("get", "/api/v2/satisfaction_ratings/{id}", "Show a satisfaction rating (staff)", "Satisfaction ratings", None, 200, "satisfaction_rating", &[]), get(satisfaction::show)),
        (r!("get", "/api/v2/requests", "The caller's requests", "Requests", None, 200, "requests", &["status", "page", "per_page", "page[size]", "page[after]", "page[before]"]), get(requests::index)),
        (r!("post", "/api/v2/requests", "Open a request", "Requests", Some("request"), 201, "request", &[]), post(requests::create)),
        (r!("get", "/api/v2/requests/open", "The caller's requests not yet solved", "Requests", None, 200, "requests", &["status", "page", "per_page", "page[size]", "page[after]", "page[before]"]), get(requests::open)),
        (r!("get", "/api/v2/requests/solved", "The caller's solved requests", "Requests", None, 200, "requests", &["status", "page", "per_page", "page[size]", "page[after]", "page[before]"]), get(requests::solved)),
        (r!("get", "/api/v2/requests/ccd", "Requests the caller is CC'd on", "Requests", None, 200, "requests", &["status", "page", "per_page", "page[size]", "page[after]", "page[before]"]), get(requests::ccd)),
        (r!("get", "/api/v2/requests/search", "Search the caller's requests", "Requests", None, 200, "requests", &["query", "page", "per_page"]), get(requests::search)),
        (r!("get", "/api/v2/requests/{id}", "Show a request", "Requests", None, 200, "request", &[]), get(requests::show)),
        (r!("put", "/api/v2/requests/{id}", "Add a comment to a request or mark it solved", "Requests", Some("request"), 200, "request", &[]), put(requests::update)),
        (r!("get", "/api/v2/requests/{id}/comments", "A request's public comments", "Requests", None, 200, "comments", &["page", "per_page", "page[size]", "page[after]", "sort_order"]), get(requests::comments)),
        (r!("get", "/api/v2/requests/{id}/comments/{comment_id}", "One public comment of a request", "Requests", None, 200, "comment", &[]), get(requests::comment)),
        (r!("get", "/api/v2/deleted_tickets", "List deleted tickets", "Tickets", None, 200, "deleted_tickets", LIST), get(deleted::index)),
        (r!("put", "/api/v2/deleted_tickets/restore_many", "Restore many tickets from the trash (all or none)", "Tickets", None, 200, "", &["ids"]), put(deleted::restore_many)),
        (r!("delete", "/api/v2/deleted_tickets/destroy_many", "Delete up to 100 trashed tickets permanently (a job)", "Tickets", None, 200, "job_status", &["ids"]), delete(deleted::destroy_many)),
        (r!("put", "/api/v2/deleted_tickets/{id}/restore", "Restore a deleted ticket", "Tickets", None, 200, "", &[]), put(deleted::restore)),
        (r!("delete", "/api/v2/deleted_tickets/{id}", "Delete a deleted ticket permanently", "Tickets", None, 200, "job_status", &[]), delete(deleted::destroy)),
        (r!("get", "/api/v2/api_tokens", "The tenant's API tokens (admins; never their values)", "Authentication", None, 200, "api_tokens", &[]), get(api_tokens::index)),
        (r!("post", "/api/v2/api_tokens", "Create an API token (admins; its value is shown once)", "Authentication", Some("api_token"), 201, "api_token", &[]), post(api_tokens::create)),
        (r!("delete", "/api/v2/api_tokens/{id}", "Revoke an API token", "Authentication", None, 204, "", &[]), delete(api_tokens::destroy)),
        (r!("post", "/api/v2/oauth/tokens", "Create a bearer token for the caller", "Authentication", Some("token"), 201, "token", &[]), post(oauth::create)),
        (r!("get", "/api/v2/job_statuses", "The latest job statuses", "Job statuses", None, 200, "job_statuses", &[]), get(jobs::index)),
        (r!("get", "/api/v2/job_statuses/show_many", "Show many job statuses", "Job statuses", None, 200, "job_statuses", &["ids"]), get(jobs::show_many)),
        (r!("get", "/api/v2/job_statuses/{id}", "Show a job status", "Job statuses", None, 200, "job_status", &[]), get(jobs::show)),
        (r!("post", "/api/v2/uploads", "Upload a file (raw body)", "Attachments", Some("raw"), 201, "upload", &["filename", "token"]), post(uploads::upload)),
        (r!("get", "/api/v2/attachments/{id}", "Show an attachment", "Attachments", None, 200, "attachment", &[]), get(uploads::show)),
        (r!("get", "/api/v2/attachments/{id}/content", "Download an attachment", "Attachments", None, 200, "", &[]), get(uploads::content)),
        (r!("get", "/api/v2/search", "Search tickets, users and organizations", "Search", None, 200, "results", &["query", "page", "per_page", "sort_by", "sort_order", "filter[type]", "include"]), get(search::search)),
        (r!("get", "/api/v2/search/count", "Count search results", "Search", None, 200, "count", &["query"]), get(search::count)),
        (r!("get", "/api/v2/search/export", "Every match of one type, in cursor pages", "Search", None, 200, "results", &["query", "filter[type]", "page[size]", "page[after]"]), get(search::export)),
        (r!("get", "/api/v2/incremental/tickets/cursor", "Tickets changed since a time", "Incremental export", None, 200, "tickets", &["start_time", "cursor", "per_page"]), get(incremental::tickets)),
        (r!("get", "/api/v2/incremental/users/cursor", "Users changed since a time", "Incremental export", None, 200, "users", &["start_time", "cursor", "per_page"]), get(incremental::users)),
        (r!("get", "/api/v2/incremental/tickets", "Tickets changed since a time (time-based pages)", "Incremental export", None, 200, "tickets", &["start_time", "per_page"]), get(incremental::tickets_by_time)),
        (r!("get", "/api/v2/incremental/users", "Users changed since a time (time-based pages)", "Incremental export", None, 200, "users", &["start_time", "per_page"]), get(incremental::users_by_time)),
        (r!("get", "/api/v2/incremental/organizations", "Organizations changed since a time (time-based pages)", "Incremental export", None, 200, "organizations", &["start_time", "per_page"]), get(incremental::organizations_by_time)),
        (r!("get", "/api/v2/incremental/ticket_events", "Ticket events (audits) since a time, oldest first (time-based pages, admins)", "Incremental export", None, 200, "ticket_events", &["start_time", "per_page"]), get(incremental::ticket_events_by_time)),
        (r!("get", "/api/v2/webhooks", "List webhooks (recipients)", "Webhooks", None, 200, "webhooks", &[]), get(webhooks::index)),
        (r!("post", "/api/v2/webhooks", "Register a webhook", "Webhooks", Some("webhook"), 201, "webhook", &[]), post(webhooks::create)),
        (r!("get", "/api/v2/webhooks/{id}", "Show a webhook", "Webhooks", None, 200, "webhook", &[]), get(webhooks::show)),
        (r!("delete", "/api/v2/webhooks/{id}", "Remove a webhook", "Webhooks", None, 204, "", &[]), delete(webhooks::delete)),
        (r!("post", "/api/v2/webhooks/{id}/signing_secret", "Replace a webhook's signing secret (shown once)", "Webhooks", None, 200, "signing_secret", &[]), post(webhooks::reset_secret)),
        (r!("post", "/api/v2/privacy/requests", "Open a privacy request (staff for a person, a person for themselves, or anyone by e-mail link)", "Privacy", Some("request"), 201, "request", &[]), post(privacy::create)),
        (r!("get", "/api/v2/privacy/requests", "The privacy request inbox, most urgent first", "Privacy", None, 200, "requests", &["page", "per_page", "status"]), get(privacy::index)),
        (r!("get", "/api/v2/privacy/requests/{id}", "Show a privacy request", "Privacy", None, 200, "request", &[]), get(privacy::show)),
        (r!("post", "/api/v2/privacy/confirmations", "Confirm a request with the token from its link", "Privacy", Some("token"), 200, "request", &[]), post(privacy::confirm)),
        (r!("post", "/api/v2/privacy/requests/{id}/verify", "Record that staff confirmed the person's identity", "Privacy", Some("note"), 200, "request", &[]), post(privacy::verify)),
        (r!("post", "/api/v2/privacy/requests/{id}/extend", "Extend the due date by two months, with a reason", "Privacy", Some("reason"), 200, "request", &[]), post(privacy::extend)),
        (r!("post", "/api/v2/privacy/requests/{id}/refuse", "Refuse a request, with a code and a reason", "Privacy", Some("refusal"), 200, "request", &[]), post(privacy::refuse)),
        (r!("post", "/api/v2/privacy/requests/{id}/fulfil", "Carry out a verified request", "Privacy", None, 200, "request", &[]), post(privacy::fulfil)),
        (r!("post", "/api/v2/privacy/requests/{id}/exports", "Build the export package of an access or portability request", "Privacy", Some("export"), 201, "export", &[]), post(privacy::build_export)),
        (r!("get", "/api/v2/privacy/requests/{id}/exports", "Export packages of a request", "Privacy", None, 200, "exports", &[]), get(privacy::exports)),
        (r!("get", "/api/v2/privacy/requests/{id}/mentions", "Mentions of the request's person in other people's text, for review", "Privacy", None, 200, "mentions", &[]), get(mentions::index)),
        (r!("post", "/api/v2/privacy/requests/{id}/mentions", "Accept or reject a mention", "Privacy", Some("mention"), 200, "mention", &[]), post(mentions::decide)),
        (r!("post", "/api/v2/privacy/requests/{id}/mentions/search", "Look for mentions now (weak matches only when asked)", "Privacy", Some("search"), 200, "mentions", &[]), post(mentions::search)),
        (r!("get", "/api/v2/privacy/exports/{id}/download", "Download an export package", "Privacy", None, 200, "", &[]), get(privacy::download)),
        (r!("post", "/api/v2/privacy/subjects/{id}/restriction", "Restrict processing of a person's data", "Privacy", Some("reason"), 200, "restriction", &[]), post(privacy::restrict)),
        (r!("post", "/api/v2/privacy/subjects/{id}/restriction/lift", "Lift a restriction, telling the person first", "Privacy", Some("reason"), 200, "restriction", &[]), post(privacy::lift)),
        (r!("get", "/api/v2/privacy/subjects/{id}/footprint", "What is held about a person (privacy staff, with a reason; logged)", "Privacy", None, 200, "footprint", &["reason"]), get(privacy::footprint)),
        (r!("get", "/api/v2/privacy/subjects/{id}/erasure_plan", "What erasing a person would do (dry run)", "Privacy", None, 200, "erasure_plan", &[]), get(erasure::plan)),
        (r!("post", "/api/v2/privacy/subjects/{id}/erasure", "Erase a person (privacy staff)", "Privacy", None, 200, "erasure", &[]), post(erasure::erase_subject)),
        (r!("post", "/api/v2/privacy/requests/{id}/erasure", "Carry out a verified erasure request", "Privacy", None, 200, "erasure", &[]), post(erasure::erase_request)),
        (r!("get", "/api/v2/privacy/erasures", "Erasures, newest first", "Privacy", None, 200, "erasures", &["page", "per_page"]), get(erasure::index)),
        (r!("get", "/api/v2/privacy/erasures/{id}", "Show an erasure", "Privacy", None, 200, "erasure", &[]), get(erasure::show)),
        (r!("get", "/api/v2/privacy/erasures/{id}/certificate", "The certificate of a completed erasure (JSON, or PDF with format=pdf)", "Privacy", None, 200, "certificate", &["format"]), get(erasure::certificate)),
        (r!("post", "/api/v2/privacy/holds", "Place a legal hold", "Privacy", Some("hold"), 201, "hold", &[]), post(erasure::create_hold)),
        (r!("get", "/api/v2/privacy/holds", "Legal holds, newest first", "Privacy", None, 200, "holds", &["page", "per_page"]), get(erasure::holds)),
        (r!("get", "/api/v2/privacy/holds/{id}", "Show a legal hold", "Privacy", None, 200, "hold", &[]), get(erasure::hold)),
        (r!("delete", "/api/v2/privacy/holds/{id}", "Release a legal hold early", "Privacy", None, 200, "hold", &[]), delete(erasure::release_hold)),
        (r!("get", "/api/v2/privacy/retention", "The tenant's retention policies", "Privacy", None, 200, "retention_policies", &[]), get(erasure::retention)),
        (r!("put", "/api/v2/privacy/retention/{policy}", "Change a retention policy", "Privacy", Some("retention_policy"), 200, "retention_policy", &[]), put(erasure::update_retention)),
        (r!("get", "/api/v2/privacy/retention/{policy}/preview", "What a retention policy would remove now", "Privacy", None, 200, "preview", &[]), get(erasure::retention_preview)),
        (r!("get", "/api/v2/privacy/settings", "The tenant's erasure settings", "Privacy", None, 200, "settings", &[]), get(erasure::settings)),
        (r!("put", "/api/v2/privacy/settings", "Change the tenant's erasure settings", "Privacy", Some("settings"), 200, "settings", &[]), put(erasure::update_settings)),
        (r!("post", "/api/v2/privacy/breaches", "Record a personal-data breach; the 72-hour clock runs from aware_at", "Privacy", Some("breach"), 201, "breach", &[]), post(breaches::create)),
        (r!("get", "/api/v2/privacy/breaches", "The breach register, open breaches first", "Privacy", None, 200, "breaches", &["page", "per_page"]), get(breaches::index)),
        (r!("get", "/api/v2/privacy/breaches/register", "The whole breach register as one document for an authority", "Privacy", None, 200, "register", &[]), get(breaches::register)),
        (r!("get", "/api/v2/privacy/breaches/{id}", "Show a breach with its clock", "Privacy", None, 200, "breach", &[]), get(breaches::show)),
        (r!("put", "/api/v2/privacy/breaches/{id}", "Change a breach's record", "Privacy", Some("breach"), 200, "breach", &[]), put(breaches::update)),
        (r!("put", "/api/v2/privacy/breaches/{id}/scope", "Say what was exposed; the people affected are found from the data map", "Privacy", Some("scope"), 200, "affected", &[]), put(breaches::set_scope)),
        (r!("get", "/api/v2/privacy/breaches/{id}/people", "The people a breach affected, by id, with their categories", "Privacy", None, 200, "people", &[]), get(breaches::people)),
        (r!("get", "/api/v2/privacy/breaches/{id}/notification", "The notification to the supervisory authority (JSON, or PDF with format=pdf; locale en or fi)", "Privacy", None, 200, "notification", &["format", "locale"]), get(breaches::notification)),
        (r!("post", "/api/v2/privacy/breaches/{id}/authority_notified", "Record that the authority was notified (a late notification gives the reasons for the delay)", "Privacy", Some("notification"), 200, "breach", &[]), post(breaches::authority_notified)),
        (r!("post", "/api/v2/privacy/breaches/{id}/notify_people", "Send the notice to each person affected not told yet, in their language", "Privacy", None, 200, "notices", &[]), post(breaches::notify_people)),
        (r!("post", "/api/v2/privacy/breaches/{id}/close", "Close a breach once the decisions are made and carried out", "Privacy", None, 200, "breach", &[]), post(breaches::close)),
        (r!("get", "/api/v2/privacy/records_of_processing", "The records of processing (Art. 30), generated from the data map and the tenant's settings (JSON, or PDF with format=pdf; locale en or fi)", "Privacy", None, 200, "records_of_processing", &["format", "locale"]), get(records::records)),
        (r!("get", "/api/v2/privacy/dpa", "The data processing agreement (Art. 28(3)) from the operator's template, its annexes generated from the data map and settings (JSON, or PDF with format=pdf; locale en or fi)", "Privacy", None, 200, "dpa", &["format", "locale"]), get(records::dpa)),
        (r!("get", "/api/v2/privacy/controller", "The controller and data protection officer the records and notifications name", "Privacy", None, 200, "controller", &[]), get(records::controller)),
        (r!("put", "/api/v2/privacy/controller", "Set the controller and data protection officer", "Privacy", Some("controller"), 200, "controller", &[]), put(records::set_controller)),
        (r!("get", "/api/v2/privacy/subprocessors", "The sub-processor register, ended ones too", "Privacy", None, 200, "subprocessors", &[]), get(subprocessors::index)),
        (r!("post", "/api/v2/privacy/subprocessors", "Add a sub-processor; its subscribers are told a notice period ahead", "Privacy", Some("subprocessor"), 201, "subprocessor", &[]), post(subprocessors::create)),
        (r!("get", "/api/v2/privacy/subprocessors/{id}", "Show a sub-processor", "Privacy", None, 200, "subprocessor", &[]), get(subprocessors::show)),
        (r!("put", "/api/v2/privacy/subprocessors/{id}", "Correct a sub-processor's name, service, location or safeguard", "Privacy", Some("subprocessor"), 200, "subprocessor", &[]), put(subprocessors::update)),
        (r!("delete", "/api/v2/privacy/subprocessors/{id}", "End the use of a sub-processor (it stays listed with its end)", "Privacy", None, 200, "subprocessor", &[]), delete(subprocessors::remove)),
        (r!("get", "/api/v2/subprocessors", "The tenant's sub-processors in use and announced (no sign-in needed)", "Privacy", None, 200, "subprocessors", &[]), get(subprocessors::public)),
        (r!("get", "/api/v2/subprocessors/subscription", "Whether the signed-in person hears of new sub-processors", "Privacy", None, 200, "subscription", &[]), get(subprocessors::subscription)),
        (r!("put", "/api/v2/subprocessors/subscription", "Subscribe to announcements of new sub-processors, or stop them", "Privacy", Some("subscription"), 200, "subscription", &[]), put(subprocessors::subscribe)),
        (r!("get", "/api/v2/audit_logs", "The admin audit log, newest first (filters: filter[action], filter[actor_id], filter[created_at][])", "Account", None, 200, "audit_logs", &["page[size]", "page[after]", "filter[action]", "filter[actor_id]", "filter[created_at][]"]), get(audit_logs::index)),
        (r!("get", "/api/v2/audit_logs/export", "The audit log as CSV, with the same filters (at most 100 000 rows)", "Account", None, 200, "csv", &["filter[action]", "filter[actor_id]", "filter[created_at][]"]), get(audit_logs::export)),
        (r!("get", "/api/v2/audit_logs/{id}", "One entry of the audit log", "Account", None, 200, "audit_log", &[]), get(audit_logs::show)),
        (r!("get", "/api/v2/account/settings", "The account's security settings (IP restriction of staff and API access)", "Account", None, 200, "settings", &[]), get(account::show)),
        (r!("put", "/api/v2/account/settings", "Change the IP restriction; the admin's own address must stay allowed", "Account", Some("settings"), 200, "settings", &[]), put(account::update)),
        (r!("get", "/api/v2/privacy/ledger/verify", "Verify the privacy ledger's hash chain", "Privacy", None, 200, "ledger", &[]), get(privacy::verify_ledger)),
        (r!("get", "/api/v2/help_center/locales", "The help center's locales", "Help center", None, 200, "locales", &[]), get(hc::locales)),
        (r!("get", "/api/v2/help_center/user_segments", "The built-in user segments", "Help center", None, 200, "user_segments", &[]), get(hc::user_segments)),
        (r!("get", "/api/v2/help_center/categories", "List categories", "Help center", None, 200, "categories", LIST), get(hc::categories)),
        (r!("get", "/api/v2/help_center/{locale}/categories", "List categories in a locale", "Help center", None, 200, "categories", LIST), get(hc::categories)),
        (r!("post", "/api/v2/help_center/categories", "Create a category", "Help center", Some("category"), 201, "category", &[]), post(hc::create_category)),
        (r!("post", "/api/v2/help_center/{locale}/categories", "Create a category in a locale", "Help center", Some("category"), 201, "category", &[]), post(hc::create_category)),
        (r!("get", "/api/v2/help_center/categories/{id}", "Show a category", "Help center", None, 200, "category", &[]), get(hc::show_category)),
        (r!("get", "/api/v2/help_center/{locale}/categories/{id}", "Show a category (locale path)", "Help center", None, 200, "category", &[]), get(hc::show_category)),
        (r!("put", "/api/v2/help_center/categories/{id}", "Update a category", "Help center", Some("category"), 200, "category", &[]), put(hc::update_category)),
        (r!("put", "/api/v2/help_center/{locale}/categories/{id}", "Update a category (locale path)", "Help center", Some("category"), 200, "category", &[]), put(hc::update_category)),
        (r!("delete", "/api/v2/help_center/categories/{id}", "Delete a category with its sections and articles", "Help center", None, 204, "", &[]), delete(hc::delete_category)),
        (r!("get", "/api/v2/help_center/sections", "List sections", "Help center", None, 200, "sections", LIST), get(hc::sections)),
        (r!("get", "/api/v2/help_center/{locale}/sections", "List sections in a locale", "Help center", None, 200, "sections", LIST), get(hc::sections)),
        (r!("get", "/api/v2/help_center/categories/{id}/sections", "List a category's sections", "Help center", None, 200, "sections", LIST), get(hc::sections)),
        (r!("get", "/api/v2/help_center/{locale}/categories/{id}/sections", "List a category's sections in a locale", "Help center", None, 200, "sections", LIST), get(hc::sections)),
        (r!("post", "/api/v2/help_center/categories/{id}/sections", "Create a section", "Help center", Some("section"), 201, "section", &[]), post(hc::create_section)),
        (r!("post", "/api/v2/help_center/{locale}/categories/{id}/sections", "Create a section in a locale", "Help center", Some("section"), 201, "section", &[]), post(hc::create_section)),
        (r!("get", "/api/v2/help_center/sections/{id}", "Show a section", "Help center", None, 200, "section", &[]), get(hc::show_section)),
        (r!("get", "/api/v2/help_center/{locale}/sections/{id}", "Show a section (locale path)", "Help center", None, 200, "section", &[]), get(hc::show_section)),
        (r!("put", "/api/v2/help_center/sections/{id}", "Update a section", "Help center", Some("section"), 200, "section", &[]), put(hc::update_section)),
        (r!("put", "/api/v2/help_center/{locale}/sections/{id}", "Update a section (locale path)", "Help center", Some("section"), 200, "section", &[]), put(hc::update_section)),
        (r!("delete", "/api/v2/help_center/sections/{id}", "Delete a section with its articles", "Help center", None, 204, "", &[]), delete(hc::delete_section)),
        (r!("get", "/api/v2/help_center/articles", "List articles", "Help center", None, 200, "articles", LIST), get(hc::articles)),
        (r!("get", "/api/v2/help_center/{locale}/articles", "List articles in a locale", "Help center", None, 200, "articles", LIST), get(hc::articles)),
        (r!("get", "/api/v2/help_center/articles/search", "Search articles", "Help center", None, 200, "results", &["query", "locale", "page", "per_page", "page[size]", "page[after]"]), get(hc::search_articles)),
        (r!("get", "/api/v2/help_center/sections/{id}/articles", "List a section's articles", "Help center", None, 200, "articles", LIST), get(hc::section_articles)),
        (r!("get", "/api/v2/help_center/{locale}/sections/{id}/articles", "List a section's articles in a locale", "Help center", None, 200, "articles", LIST), get(hc::section_articles)),
        (r!("get", "/api/v2/help_center/categories/{id}/articles", "List a category's articles", "Help center", None, 200, "articles", LIST), get(hc::category_articles)),
        (r!("get", "/api/v2/help_center/{locale}/categories/{id}/articles", "List a category's articles in a locale", "Help center", None, 200, "articles", LIST), get(hc::category_articles)),
        (r!("get", "/api/v2/help_center/users/{id}/articles", "List the articles a staff member wrote", "Help center", None, 200, "articles", LIST), get(hc::user_articles)),
        (r!("post", "/api/v2/help_center/sections/{id}/articles", "Create an article", "Help center", Some("article"), 201, "article", &[]), post(hc::create_article)),
        (r!("post", "/api/v2/help_center/{locale}/sections/{id}/articles", "Create an article in a locale", "Help center", Some("article"), 201, "article", &[]), post(hc::create_article)),
        (r!("get", "/api/v2/help_center/articles/{id}", "Show an article", "Help center", None, 200, "article", &[]), get(hc::show_article)),
        (r!("get", "/api/v2/help_center/{locale}/articles/{id}", "Show an article (locale path)", "Help center", None, 200, "article", &[]), get(hc::show_article)),
        (r!("put", "/api/v2/help_center/articles/{id}", "Update an article", "Help center", Some("article"), 200, "article", &[]), put(hc::update_article)),
        (r!("put", "/api/v2/help_center/{locale}/articles/{id}", "Update an article (locale path)", "Help center", Some("article"), 200, "article", &[]), put(hc::update_article)),
        (r!("delete", "/api/v2/help_center/articles/{id}", "Archive an article", "Help center", None, 204, "", &[]), delete(hc::delete_article)),
        (r!("get", "/api/v2/help_center/articles/{id}/comments", "List an article's comments", "Help center", None, 200, "comments", LIST), get(hc::comments)),
        (r!("post", "/api/v2/help_center/articles/{id}/comments", "Comment on an article", "Help center", Some("comment"), 201, "comment", &[]), post(hc::create_comment)),
        (r!("get", "/api/v2/help_center/articles/{id}/comments/{comment_id}", "Show an article comment", "Help center", None, 200, "comment", &[]), get(hc::show_comment)),
        (r!("put", "/api/v2/help_center/articles/{id}/comments/{comment_id}", "Update an article comment", "Help center", Some("comment"), 200, "comment", &[]), put(hc::update_comment)),
        (r!("delete", "/api/v2/help_center/articles/{id}/comments/{comment_id}", "Delete an article comment", "Help center", None, 204, "", &[]), delete(hc::delete_comment)),
        (r!("put", "/api/v2/help_center/articles/{id}/comments/{comment_id}/redact", "Redact text in an article comment", "Redaction", Some("text"), 200, "comment", &[]), put(hc::redact_comment)),
        (r!("get", "/api/v2/help_center/users/{id}/comments", "List a person's article comments", "Help center", None, 200, "comments", LIST), get(hc::user_comments)),
        (r!("post", "/api/v2/help_center/articles/{id}/up", "Vote an article up", "Help center", None, 200, "vote", &[]), post(hcr::up)),
        (r!("post", "/api/v2/help_center/articles/{id}/down", "Vote an article down", "Help center", None, 200, "vote", &[]), post(hcr::down)),
        (r!("get", "/api/v2/help_center/articles/{id}/votes", "List an article's votes", "Help center", None, 200, "votes", LIST), get(hcr::votes)),
        (r!("post", "/api/v2/help_center/articles/{id}/comments/{comment_id}/up", "Vote an article comment up", "Help center", None, 200, "vote", &[]), post(hcr::up)),
        (r!("post", "/api/v2/help_center/articles/{id}/comments/{comment_id}/down", "Vote an article comment down", "Help center", None, 200, "vote", &[]), post(hcr::down)),
        (r!("get", "/api/v2/help_center/articles/{id}/comments/{comment_id}/votes", "List an article comment's votes", "Help center", None, 200, "votes", LIST), get(hcr::votes)),
        (r!("get", "/api/v2/help_center/users/{id}/votes", "List a person's votes", "Help center", None, 200, "votes", LIST), get(hcr::user_votes)),
        (r!("get", "/api/v2/help_center/votes/{id}", "Show a vote", "Help center", None, 200, "vote", &[]), get(hcr::show_vote)),
        (r!("delete", "/api/v2/help_center/votes/{id}", "Withdraw a vote", "Help center", None, 204, "", &[]), delete(hcr::delete_vote)),
        (r!("get", "/api/v2/help_center/articles/{id}/subscriptions", "List an article's subscriptions", "Help center", None, 200, "subscriptions", LIST), get(hcr::article_subscriptions)),
        (r!("post", "/api/v2/help_center/articles/{id}/subscriptions", "Follow an article", "Help center", Some("subscription"), 201, "subscription", &[]), post(hcr::subscribe_article)),
        (r!("get", "/api/v2/help_center/articles/{id}/subscriptions/{subscription_id}", "Show an article subscription", "Help center", None, 200, "subscription", &[]), get(hcr::show_article_subscription)),
        (r!("delete", "/api/v2/help_center/articles/{id}/subscriptions/{subscription_id}", "Stop following an article", "Help center", None, 204, "", &[]), delete(hcr::unsubscribe_article)),
        (r!("get", "/api/v2/help_center/sections/{id}/subscriptions", "List a section's subscriptions", "Help center", None, 200, "subscriptions", LIST), get(hcr::section_subscriptions)),
        (r!("post", "/api/v2/help_center/sections/{id}/subscriptions", "Follow a section", "Help center", Some("subscription"), 201, "subscription", &[]), post(hcr::subscribe_section)),
        (r!("get", "/api/v2/help_center/sections/{id}/subscriptions/{subscription_id}", "Show a section subscription", "Help center", None, 200, "subscription", &[]), get(hcr::show_section_subscription)),
        (r!("delete", "/api/v2/help_center/sections/{id}/subscriptions/{subscription_id}", "Stop following a section", "Help center", None, 204, "", &[]), delete(hcr::unsubscribe_section)),
        (r!("get", "/api/v2/help_center/users/{id}/subscriptions", "List a person's subscriptions", "Help center", None, 200, "subscriptions", LIST), get(hcr::user_subscriptions)),
        (r!("get", "/api/v2/community/topics", "List topics", "Community", None, 200, "topics", LIST), get(cm::topics)),
        (r!("post", "/api/v2/community/topics", "Create a topic", "Community", Some("topic"), 201, "topic", &[]), post(cm::create_topic)),
        (r!("get", "/api/v2/community/topics/{id}", "Show a topic", "Community", None, 200, "topic", &[]), get(cm::show_topic)),
        (r!("put", "/api/v2/community/topics/{id}", "Update a topic", "Community", Some("topic"), 200, "topic", &[]), put(cm::update_topic)),
        (r!("delete", "/api/v2/community/topics/{id}", "Delete a topic with its posts", "Community", None, 204, "", &[]), delete(cm::delete_topic)),
        (r!("get", "/api/v2/community/topics/{id}/posts", "List a topic's posts", "Community", None, 200, "posts", &["page", "per_page", "page[size]", "page[after]", "filter_by", "sort_by"]), get(cm::topic_posts)),
        (r!("get", "/api/v2/community/posts", "List posts", "Community", None, 200, "posts", &["page", "per_page", "page[size]", "page[after]", "filter_by", "sort_by"]), get(cm::posts)),
        (r!("post", "/api/v2/community/posts", "Create a post", "Community", Some("post"), 201, "post", &[]), post(cm::create_post)),
        (r!("get", "/api/v2/community/posts/{id}", "Show a post", "Community", None, 200, "post", &[]), get(cm::show_post)),
        (r!("put", "/api/v2/community/posts/{id}", "Update or moderate a post", "Community", Some("post"), 200, "post", &[]), put(cm::update_post)),
        (r!("delete", "/api/v2/community/posts/{id}", "Delete a post", "Community", None, 204, "", &[]), delete(cm::delete_post)),
        (r!("put", "/api/v2/community/posts/{id}/redact", "Redact text in a post", "Redaction", Some("text"), 200, "post", &[]), put(cm::redact_post)),
        (r!("get", "/api/v2/community/users/{id}/posts", "List a person's posts", "Community", None, 200, "posts", &["page", "per_page", "page[size]", "page[after]", "filter_by", "sort_by"]), get(cm::user_posts)),
        (r!("get", "/api/v2/community/posts/{id}/comments", "List a post's comments", "Community", None, 200, "comments", LIST), get(cm::comments)),
        (r!("post", "/api/v2/community/posts/{id}/comments", "Comment on a post", "Community", Some("comment"), 201, "comment", &[]), post(cm::create_comment)),
        (r!("get", "/api/v2/community/posts/{id}/comments/{comment_id}", "Show a post comment", "Community", None, 200, "comment", &[]), get(cm::show_comment)),
        (r!("put", "/api/v2/community/posts/{id}/comments/{comment_id}", "Update or moderate a post comment", "Community", Some("comment"), 200, "comment", &[]), put(cm::update_comment)),
        (r!("delete", "/api/v2/community/posts/{id}/comments/{comment_id}", "Delete a post comment", "Community", None, 204, "", &[]), delete(cm::delete_comment)),
        (r!("put", "/api/v2/community/posts/{id}/comments/{comment_id}/redact", "Redact text in a post comment", "Redaction", Some("text"), 200, "comment", &[]), put(cm::redact_comment)),
        (r!("get", "/api/v2/community/users/{id}/comments", "List a person's post comments", "Community", None, 200, "comments", LIST), get(cm::user_comments)),
        (r!("post", "/api/v2/community/posts/{id}/up", "Vote a post up", "Community", None, 200, "vote", &[]), post(hcr::post_up)),
        (r!("post", "/api/v2/community/posts/{id}/down", "Vote a post down", "Community", None, 200, "vote", &[]), post(hcr::post_down)),
        (r!("get", "/api/v2/community/posts/{id}/votes", "List a post's votes", "Community", None, 200, "votes", LIST), get(hcr::post_votes)),
        (r!("post", "/api/v2/community/posts/{id}/comments/{comment_id}/up", "Vote a post comment up", "Community", None, 200, "vote", &[]), post(hcr::post_up)),
        (r!("post", "/api/v2/community/posts/{id}/comments/{comment_id}/down", "Vote a post comment down", "Community", None, 200, "vote", &[]), post(hcr::post_down)),
        (r!("get", "/api/v2/community/posts/{id}/comments/{comment_id}/votes", "List a post comment's votes", "Community", None, 200, "votes", LIST), get(hcr::post_votes)),
        (r!("get", "/api/v2/community/posts/{id}/subscriptions", "List a post's subscriptions", "Community", None, 200, "subscriptions", LIST), get(hcr::post_subscriptions)),
        (r!("post", "/api/v2/community/posts/{id}/subscriptions", "Follow a post", "Community", Some("subscription"), 201, "subscription", &[]), post(hcr::subscribe_post)),
        (r!("get", "/api/v2/community/posts/{id}/subscriptions/{subscription_id}", "Show a post subscription", "Community", None, 200, "subscription", &[]), get(hcr::show_post_subscription)),
        (r!("delete", "/api/v2/community/posts/{id}/subscriptions/{subscription_id}", "Stop following a post", "Community", None, 204, "", &[]), delete(hcr::unsubscribe_post)),
        (r!("get", "/api/v2/community/topics/{id}/subscriptions", "List a topic's subscriptions", "Community", None, 200, "subscriptions", LIST), get(hcr::topic_subscriptions)),
        (r!("post", "/api/v2/community/topics/{id}/subscriptions", "Follow a topic", "Community", Some("subscription"), 201, "subscription", &[]), post(hcr::subscribe_topic)),
        (r!("get", "/api/v2/community/topics/{id}/subscriptions/{subscription_id}", "Show a topic subscription", "Community", None, 200, "subscription", &[]), get(hcr::show_topic_subscription)),
        (r!("delete", "/api/v2/community/topics/{id}/subscriptions/{subscription_id}", "Stop following a topic", "Community", None, 204, "", &[]), delete(hcr::unsubscribe_topic)),
    ]
}

/// Every route the router serves, API and web pages, as (method, path) with `{name}`
/// parameters: what the authorization matrix test walks, so a route cannot be added without
/// its row.
pub fn every_route() -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<_> = table().into_iter().map(|(doc, _)| (doc.method, doc.path)).collect();
    all.extend(crate::web::table().into_iter().map(|p| (p.method, p.path)));
    all.extend([("get", "/api/v2/openapi"), ("get", "/healthz")]);
    all
}

/// The router: every route in the table, the web pages, the OpenAPI document, and the fallbacks.
pub fn build(state: AppState) -> Router {
    let mut router: Router<AppState> = Router::new();
    let mut docs = Vec::new();
    for (doc, handler) in table() {
        router = router.route(doc.path, handler);
        docs.push(doc);
    }
    let document = openapi::document(&docs);
    router
        .merge(crate::web::routes(&state))
        .route("/api/v2/openapi", get(move || std::future::ready(crate::api_v2::ok(document.clone()))))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async { ApiError::NotFound.into_response() })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed.into_response() })
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::audit::audit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::rate_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::body_deadline))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::transport_security))
        .layer(axum::middleware::from_fn(middleware::request_log))
        .with_state(state)
}
