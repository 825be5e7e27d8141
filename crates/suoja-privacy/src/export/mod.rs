//! Access and portability exports (GDPR Art. 15 and 20): the person's footprint rendered as a
//! JSON document that follows the published schema (`docs/schemas/export-v2.schema.json`), a PDF
//! for reading, the original files, and a ZIP holding all three. Other people appear as
//! placeholders; what was withheld and why is listed in the export and recorded with the request.

mod document;
mod import;
pub mod package;
pub mod pdf;
mod people;

use serde_json::{Value, json};

use crate::PrivacyError;

pub use document::{Export, ExportFile};

/// The JSON Schema every export follows.
pub const SCHEMA: &str = include_str!("../../../../docs/schemas/export-v2.schema.json");

/// The schema's identifier, written into each export.
pub const SCHEMA_ID: &str = "https://suoja.invalid/schemas/export-v2.schema.json";

/// Which tickets an export covers (as Zendesk's ticket-history printout offers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Tickets the person requested or submitted.
    Requested,
    /// Tickets the person is CC'd on or follows.
    Ccd,
    /// Tickets the person commented on.
    Commented,
    /// All of the above, and every other ticket the person is on.
    All,
}

impl Filter {
    /// Wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Filter::Requested => "requested",
            Filter::Ccd => "ccd",
            Filter::Commented => "commented",
            Filter::All => "all",
        }
    }
    /// Parses a wire value.
    pub fn parse(s: &str) -> Result<Self, PrivacyError> {
        match s {
            "requested" => Ok(Filter::Requested),
            "ccd" => Ok(Filter::Ccd),
            "commented" => Ok(Filter::Commented),
            "all" => Ok(Filter::All),
            _ => Err(PrivacyError::invalid("filter", "must be one of requested, ccd, commented, all")),
        }
    }
}

/// Output format of a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The JSON document alone.
    Json,
    /// The PDF alone.
    Pdf,
    /// A ZIP with the JSON, the PDF and the original files.
    Zip,
}

impl Format {
    /// Wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Pdf => "pdf",
            Format::Zip => "zip",
        }
    }
    /// Parses a wire value.
    pub fn parse(s: &str) -> Result<Self, PrivacyError> {
        match s {
            "json" => Ok(Format::Json),
            "pdf" => Ok(Format::Pdf),
            "zip" => Ok(Format::Zip),
            _ => Err(PrivacyError::invalid("format", "must be one of json, pdf, zip")),
        }
    }
    /// MIME type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Pdf => "application/pdf",
            Format::Zip => "application/zip",
        }
    }
}

/// How to build an export.
#[derive(Debug, Clone)]
pub struct Options {
    /// Which tickets.
    pub filter: Filter,
    /// Include internal notes about the person (`None`: the operator's policy).
    pub include_internal_notes: Option<bool>,
}

impl Options {
    /// The options as a package build keeps them (words only), so another node can take the
    /// build over.
    pub fn to_value(&self) -> Value {
        json!({"filter": self.filter.as_str(), "include_internal_notes": self.include_internal_notes})
    }

    /// Options kept by [`Options::to_value`]; `None` when they cannot be read.
    pub fn from_value(v: &Value) -> Option<Self> {
        Some(Self {
            filter: Filter::parse(v.get("filter")?.as_str()?).ok()?,
            include_internal_notes: match v.get("include_internal_notes")? {
                Value::Null => None,
                Value::Bool(b) => Some(*b),
                _ => return None,
            },
        })
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            filter: Filter::All,
            include_internal_notes: None,
        }
    }
}

/// Reports progress of long exports: (step, done, total).
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Send + Sync);

/// A no-op progress reporter.
pub fn no_progress(_: &str, _: u64, _: u64) {}

pub(crate) fn iso(v: Option<i64>) -> Value {
    v.map_or(Value::Null, |t| Value::String(suoja_core::Timestamp(t).to_iso()))
}
