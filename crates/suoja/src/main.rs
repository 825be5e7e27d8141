//! The `suoja` binary: parses the command line, sets up logging, runs the command.

use std::io::IsTerminal as _;

use clap::Parser as _;
use tracing_subscriber::EnvFilter;

/// The memory allocator. With the C library's, a profile of the server creating tickets spent
/// about a fifth of its time allocating and freeing (keeping free lists in order); see
/// BENCHMARKS.md for what this one changed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_logging() {
    let filter = EnvFilter::try_from_env("SUOJA_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let json = std::env::var("SUOJA_LOG_FORMAT").is_ok_and(|v| v == "json");
    // Colours only on a terminal: a log written to a file or a pipe stays plain text.
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    init_logging();
    let cli = suoja::cli::Cli::parse();
    match suoja::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            if let Some(exit) = e.downcast_ref::<suoja::cli::Exit>() {
                eprintln!("{exit}");
                return std::process::ExitCode::from(exit.code);
            }
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
