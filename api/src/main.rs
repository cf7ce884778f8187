//! `callassist`: one binary for every role — HTTP server, migrations, and (later) projector,
//! simulator and admin commands. The wiring lives in the `api` library.

use std::process::ExitCode;

use clap::Parser;

/// The webhook path allocates many short-lived strings and JSON values per request; mimalloc
/// serves them with far less time in the allocator than the system's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = api::cli::Cli::parse();
    api::cli::run(cli)
}
