//! Satisfaction ratings (Zendesk's CSAT): the requester of a solved ticket says `good` or
//! `bad`, with an optional comment sealed under their own key (it is theirs: in their export,
//! erased with them); a new rating replaces the old one until the ticket closes. Staff read
//! the ratings.

use suoja_core::{GroupId, Personal, Scope, Status, TicketId, Timestamp, UserId};
use suoja_store::satisfaction::RatingRow;

use crate::{Helpdesk, HelpdeskError, Result, crypt};

/// A rating's score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Score {
    /// Good, I'm satisfied.
    Good,
    /// Bad, I'm unsatisfied.
    Bad,
}

impl Score {
    /// Parses Zendesk's wire value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "good" => Some(Score::Good),
            "bad" => Some(Score::Bad),
            _ => None,
        }
    }

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Score::Good => "good",
            Score::Bad => "bad",
        }
    }
}

/// A rating as staff read it.
#[derive(Debug, Clone)]
pub struct Rating {
    /// Id.
    pub id: i64,
    /// The rated ticket.
    pub ticket_id: TicketId,
    /// Who rated (the requester).
    pub requester_id: UserId,
    /// The ticket's assignee now.
    pub assignee_id: Option<UserId>,
    /// The ticket's group now.
    pub group_id: Option<GroupId>,
    /// `good` or `bad`.
    pub score: String,
    /// The requester's comment.
    pub comment: Option<Personal<String>>,
    /// First rated.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

impl Helpdesk {
    /// Rates a solved ticket: only its requester may, and only while it is solved (a closed
    /// ticket's rating stays as it was).
    pub async fn rate_ticket(&self, scope: &Scope, ticket: TicketId, score: Score, comment: Option<Personal<String>>) -> Result<Rating> {
        let now = self.now();
        let t = scope.tenant;
        let mut tx = self.db.begin().await?;
        if scope.is_staff() {
            return Err(HelpdeskError::Forbidden("only the ticket's requester rates it"));
        }
        let mut row = self.visible_row_for_update(&mut tx, scope, ticket).await?;
        if row.requester_id != scope.actor {
            return Err(HelpdeskError::Forbidden("only the ticket's requester rates it"));
        }
        if row.status != Status::Solved {
            return Err(HelpdeskError::Invalid {
                field: "status".into(),
                message: "Status: only a solved ticket can be rated".into(),
                code: "InvalidValue",
            });
        }
        let person = suoja_store::users::by_id(&mut tx, t, scope.actor)
            .await?
            .ok_or(HelpdeskError::NotFound("User"))?;
        let comment = comment.filter(|c| !c.expose().trim().is_empty());
        let stored = RatingRow {
            id: 0,
            ticket_id: row.id,
            requester_id: scope.actor,
            key_id: Some(person.key_id),
            score: score.as_str().into(),
            created_at: now,
            updated_at: now,
            comment_enc: crypt::seal_opt(&self.vault, &mut tx, t, person.key_id, comment.as_ref()).await?,
        };
        let saved = suoja_store::satisfaction::upsert(&mut tx, t, &stored).await?;
        // Rating changes the ticket, as Zendesk's: incremental exports and views see it.
        row.updated_at = now;
        suoja_store::tickets::update(&mut tx, t, &row).await?;
        // The audit says the score (the comment stays with the rating, under the rater's key).
        let event = crate::model::AuditEvent::new("SatisfactionRating")
            .with("score", serde_json::json!(saved.score))
            .with("assignee_id", serde_json::json!(row.assignee_id.map(|a| a.0)));
        self.record_audit(&mut tx, t, &row, Some(scope.actor), "web", &[event], now).await?;
        tx.commit().await?;
        tracing::info!(tenant.id = %t, ticket.id = %row.id, actor.id = %scope.actor, "ticket rated");
        Ok(Rating {
            id: saved.id,
            ticket_id: row.id,
            requester_id: scope.actor,
            assignee_id: row.assignee_id,
            group_id: row.group_id,
            score: saved.score,
            comment,
            created_at: saved.created_at,
            updated_at: saved.updated_at,
        })
    }

    /// The rating a requester gave their own ticket, if any (the portal shows it back to them).
    pub async fn my_rating(&self, scope: &Scope, ticket: TicketId) -> Result<Option<(Score, Option<Personal<String>>)>> {
        let mut c = self.db.read().await?;
        let row = self.visible_row(&mut c, scope, ticket).await?;
        if row.requester_id != scope.actor {
            return Ok(None);
        }
        // Theirs only: a ticket whose requester changed keeps the earlier requester's rating.
        let Some(r) = suoja_store::satisfaction::for_ticket(&mut c, scope.tenant, ticket)
            .await?
            .filter(|r| r.requester_id == scope.actor)
        else {
            return Ok(None);
        };
        let comment = crypt::open_opt(&self.vault, &mut c, scope.tenant, r.comment_enc.as_deref()).await?;
        Ok(Score::parse(&r.score).map(|s| (s, comment)))
    }

    /// Ratings with one of `scores` (staff), by id after a cursor, at most `limit` from
    /// `offset`, and how many there are. Ratings of trashed or restricted tickets and of
    /// restricted people are left out, as their tickets are.
    pub async fn satisfaction_ratings(&self, scope: &Scope, scores: &[&str], after: i64, limit: i64, offset: i64) -> Result<(Vec<Rating>, i64)> {
        crate::require_staff(scope)?;
        let mut c = self.db.read().await?;
        let rows = suoja_store::satisfaction::list(&mut c, scope.tenant, scores, after, limit, offset).await?;
        let count = suoja_store::satisfaction::count(&mut c, scope.tenant, scores).await?;
        let out = self.open_ratings(&mut c, scope, rows).await?;
        self.consulted(scope, &out.iter().map(|r| r.requester_id).collect::<Vec<_>>(), "rating.viewed", "support");
        Ok((out, count))
    }

    /// One rating (staff).
    pub async fn satisfaction_rating(&self, scope: &Scope, id: i64) -> Result<Rating> {
        crate::require_staff(scope)?;
        let mut c = self.db.read().await?;
        let row = suoja_store::satisfaction::visible_by_id(&mut c, scope.tenant, id).await?;
        let out = self.open_ratings(&mut c, scope, row.into_iter().collect()).await?;
        let rating = out.into_iter().next().ok_or(HelpdeskError::NotFound("SatisfactionRating"))?;
        self.consulted(scope, &[rating.requester_id], "rating.viewed", "support");
        Ok(rating)
    }

    /// Opens ratings the store found visible (their tickets give the assignee and group).
    async fn open_ratings(&self, c: &mut suoja_store::Conn, scope: &Scope, rows: Vec<RatingRow>) -> Result<Vec<Rating>> {
        let ids: Vec<TicketId> = rows.iter().map(|r| r.ticket_id).collect();
        let tickets = suoja_store::tickets::by_ids(c, scope.tenant, &ids).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let Some(t) = tickets.iter().find(|t| t.id == r.ticket_id && !t.restricted && t.deleted_at.is_none()) else {
                continue;
            };
            out.push(Rating {
                id: r.id,
                ticket_id: r.ticket_id,
                requester_id: r.requester_id,
                assignee_id: t.assignee_id,
                group_id: t.group_id,
                comment: crypt::open_opt(&self.vault, c, scope.tenant, r.comment_enc.as_deref()).await?,
                score: r.score,
                created_at: r.created_at,
                updated_at: r.updated_at,
            });
        }
        Ok(out)
    }
}
