//! Boundary newtypes: request data is parsed into these before it reaches a service, so inner
//! code never re-validates a raw string.

use crate::Personal;

/// Why a value was refused at the edge; the text is shown to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

/// An e-mail address, trimmed and checked for a plausible shape. Personal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(Personal<String>);

impl Email {
    /// Longest address accepted (RFC 5321 path limit).
    pub const MAX_LEN: usize = 254;

    /// Parses an address: one `@`, a non-empty local part, a dotted domain, no spaces or
    /// control characters.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim();
        let bad = || Invalid("is not a valid e-mail address".to_string());
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(bad());
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>') {
            return Err(bad());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty() || local.contains('@') || local.len() > 64 {
            return Err(bad());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || labels.iter().any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-')) {
            return Err(bad());
        }
        Ok(Self(Personal::new(s.to_string())))
    }
    /// The address as given (case kept).
    pub fn as_personal(&self) -> &Personal<String> {
        &self.0
    }
    /// The lower-cased address used for lookups and the blind index.
    pub fn normalized(&self) -> String {
        self.0.expose().to_lowercase()
    }
}

/// A string that is not empty after trimming, without NUL characters, and within a length limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonEmpty(String);

impl NonEmpty {
    /// Parses `raw` with at most `max` characters.
    pub fn parse(raw: &str, max: usize) -> Result<Self, Invalid> {
        let t = raw.trim();
        if t.is_empty() {
            return Err(Invalid("cannot be blank".into()));
        }
        if t.contains('\0') {
            return Err(Invalid("cannot contain NUL characters".into()));
        }
        if t.chars().count() > max {
            return Err(Invalid(format!("is too long (maximum is {max} characters)")));
        }
        Ok(Self(t.to_string()))
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The owned text.
    pub fn into_string(self) -> String {
        self.0
    }
}

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $wire:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),* }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),* }
            }
            /// Parses the wire spelling.
            pub fn parse(s: &str) -> Result<Self, Invalid> {
                match s {
                    $($wire => Ok($name::$variant),)*
                    _ => Err(Invalid(format!(
                        "must be one of: {}",
                        [$($wire),*].join(", ")
                    ))),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&s).map_err(|e| serde::de::Error::custom(e.0))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// A user's role.
    Role { EndUser = "end-user", Agent = "agent", Admin = "admin" }
);
wire_enum!(
    /// A ticket's status, in Zendesk's order (`status<solved` compares by this order).
    Status { New = "new", Open = "open", Pending = "pending", Hold = "hold", Solved = "solved", Closed = "closed" }
);
wire_enum!(
    /// A ticket's priority, lowest first.
    Priority { Low = "low", Normal = "normal", High = "high", Urgent = "urgent" }
);
wire_enum!(
    /// A ticket's type.
    TicketType { Problem = "problem", Incident = "incident", Question = "question", Task = "task" }
);

wire_enum!(
    /// Where an erasure stands: planned, running (`verifying`, which databases of an earlier
    /// version may hold, is run on like `running`), waiting on a legal hold, or finished.
    ErasureState { Planned = "planned", Running = "running", Verifying = "verifying", Held = "held", Completed = "completed", Failed = "failed" }
);

impl ErasureState {
    /// Completed or failed: nothing more will happen to it.
    pub fn is_finished(self) -> bool {
        matches!(self, ErasureState::Completed | ErasureState::Failed)
    }
}

wire_enum!(
    /// What a person asks for in a data-subject request: a copy (Art. 15), a portable copy
    /// (Art. 20), correction (Art. 16), erasure (Art. 17), restriction (Art. 18) or objection
    /// (Art. 21).
    RequestKind {
        Access = "access",
        Portability = "portability",
        Rectification = "rectification",
        Erasure = "erasure",
        Restriction = "restriction",
        Objection = "objection",
    }
);

impl RequestKind {
    /// Access and portability: answered with an export package.
    pub fn is_export(self) -> bool {
        matches!(self, RequestKind::Access | RequestKind::Portability)
    }
}

wire_enum!(
    /// Where a data-subject request stands.
    RequestStatus { Received = "received", Verifying = "verifying", Verified = "verified", Fulfilled = "fulfilled", Refused = "refused" }
);

wire_enum!(
    /// What a privacy-ledger entry records. Entries already written keep their text; a kind
    /// is only ever added here, never renamed.
    LedgerKind {
        ApiTokenCreated = "api_token.created",
        ApiTokenRevoked = "api_token.revoked",
        AuditCreate = "audit.create",
        AuditDestroy = "audit.destroy",
        AuditExported = "audit.exported",
        AuditLogin = "audit.login",
        AuditUpdate = "audit.update",
        BreachAuthorityNotified = "breach.authority_notified",
        BreachClosed = "breach.closed",
        BreachPersonNotified = "breach.person_notified",
        BreachRecorded = "breach.recorded",
        BreachScoped = "breach.scoped",
        BreachUpdated = "breach.updated",
        ErasureStarted = "erasure.started",
        ExportBuilt = "export.built",
        ExportDownloaded = "export.downloaded",
        ExportStarted = "export.started",
        ExportStored = "export.stored",
        HoldCreated = "hold.created",
        HoldExpired = "hold.expired",
        HoldReleased = "hold.released",
        MentionsSearched = "mentions.searched",
        MentionAccepted = "mention.accepted",
        RecoveryCodesCreated = "recovery_codes.created",
        RecoveryCodeUsed = "recovery_code.used",
        MentionRejected = "mention.rejected",
        RecipientRegistered = "recipient.registered",
        RecipientRemoved = "recipient.removed",
        RecipientSecretReset = "recipient.secret_reset",
        RequestLinkSent = "request.link_sent",
        RequestReceived = "request.received",
        RequestVerificationFailed = "request.verification_failed",
        RequestVerified = "request.verified",
        RequestExtended = "request.extended",
        RequestRefused = "request.refused",
        RequestFulfilled = "request.fulfilled",
        RetentionApplied = "retention.applied",
        RetentionChanged = "retention.changed",
        SettingsChanged = "settings.changed",
        SubjectErased = "subject.erased",
        SubprocessorAdded = "subprocessor.added",
        SubprocessorChanged = "subprocessor.changed",
        SubprocessorRemoved = "subprocessor.removed",
        SubjectInspected = "subject.inspected",
        TenantMoved = "tenant.moved",
        SubjectRestricted = "subject.restricted",
        SubjectRestrictionLifted = "subject.restriction_lifted",
        TextRedacted = "text.redacted",
        UserCredentialsSet = "user.credentials_set",
        UserRectified = "user.rectified",
    }
);

impl Status {
    /// Its place in Zendesk's order (`new` 0 … `closed` 5), as stored for `status<solved`.
    pub fn rank(self) -> i64 {
        self as i64
    }

    /// Solved and closed tickets are done: their retention clock runs from then.
    pub fn is_done(self) -> bool {
        matches!(self, Status::Solved | Status::Closed)
    }
}

/// The least-privileged role.
impl Default for Role {
    fn default() -> Self {
        Role::EndUser
    }
}

impl Role {
    /// Agents and admins work tickets; end users only see their own.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Agent | Role::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(Email::parse("a@example.com").is_ok());
        assert_eq!(Email::parse(" Ab@Example.COM ").unwrap().normalized(), "ab@example.com");
        for bad in ["", "a", "a@", "@b.c", "a@b", "a b@c.d", "a@b..c", "<a>@b.c", "a@-b.c"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn enums_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()).unwrap(), *s);
        }
        assert!(Status::Open < Status::Solved);
        assert!(Priority::parse("meh").is_err());
    }
}
