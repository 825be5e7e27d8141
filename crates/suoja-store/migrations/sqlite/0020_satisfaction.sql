-- Satisfaction ratings: a requester's good or bad for a solved ticket, with an optional
-- comment sealed under their key. One per ticket (a new rating replaces the old); erased
-- with the person and deleted with the ticket.
CREATE TABLE satisfaction_ratings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    ticket_id INTEGER NOT NULL,
    requester_id INTEGER NOT NULL,
    key_id INTEGER,
    score TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    comment_enc BLOB
);
CREATE UNIQUE INDEX satisfaction_ratings_ticket ON satisfaction_ratings (tenant_id, ticket_id);
CREATE INDEX satisfaction_ratings_requester ON satisfaction_ratings (tenant_id, requester_id);
