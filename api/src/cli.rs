//! Command-line interface: `callassist serve`, `callassist migrate`.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use infrastructure::config::{self, DatabaseSettings, Settings};
use infrastructure::{db, telemetry};

use crate::startup::Application;

/// Call Assistant: an event-sourced call routing engine. The owner first, then an AI agent,
/// then voicemail.
#[derive(Debug, Parser)]
#[command(name = "callassist", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve HTTP on BIND until SIGINT or SIGTERM.
    ///
    /// Settings come from the environment (and a .env file): DATABASE_URL, JWT_SECRET and
    /// ENCRYPTION_KEY are required; see README.md for the rest.
    Serve,
    /// Create the database if needed, apply pending migrations, and exit.
    ///
    /// Needs only DATABASE_URL.
    Migrate,
}

/// Runs a parsed command line; the exit code says whether it succeeded.
pub fn run(cli: Cli) -> ExitCode {
    config::load_dotenv();
    telemetry::install(telemetry::subscriber(
        config::log_format_from_env(),
        "info,sqlx=warn",
        std::io::stdout().is_terminal(),
        std::io::stdout,
    ));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Serve => serve().await,
            Command::Migrate => migrate().await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let app = Application::build(settings).await?;
    tracing::info!(url = %app.url(), "callassist is serving");
    println!("callassist is serving at {}", app.url());
    app.run_until_stopped().await
}

async fn migrate() -> anyhow::Result<()> {
    let settings = DatabaseSettings::from_env()?;
    let pool = db::connect_and_migrate(config::database_url(&settings)).await?;
    let applied = db::MIGRATOR.iter().count();
    pool.close().await;
    println!("database is up to date ({applied} migrations)");
    Ok(())
}
