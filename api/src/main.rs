//! `callassist`: one binary for every role — HTTP server, migrations, and (later) projector,
//! simulator and admin commands. The wiring lives in the `api` library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = api::cli::Cli::parse();
    api::cli::run(cli)
}
