//! The Suoja binary's library face: start-up wiring (settings → database → vault → services →
//! HTTP) shared by `suoja serve` and the integration tests, which boot the real server.

pub mod app;
pub mod backup;
pub mod bench;
pub mod cli;
pub mod import;
pub mod relocate;
pub mod worker;
