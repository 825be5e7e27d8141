//! The privacy engine. For now: the data map, the one declaration of every table and column
//! Suoja stores, from which the completeness test, the records of processing and (in later
//! work) access export, erasure and retention are derived.

pub mod datamap;
