//! Command-line interface: `callassist serve`, `callassist migrate`.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use infrastructure::config::{self, DatabaseSettings, Settings};
use infrastructure::event_store::{AppendSignal, Stores};
use infrastructure::{db, telemetry};
use secrecy::SecretString;

use crate::demo;
use crate::simulate::{OwnerBehaviour, Simulation};
use crate::startup::Application;
use crate::workers::{Roles, Workers};

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
    /// Apply pending migrations, then serve HTTP on BIND until SIGINT or SIGTERM, with the
    /// projectors running beside it.
    ///
    /// Settings come from the environment (and a .env file): DATABASE_URL, JWT_SECRET,
    /// ENCRYPTION_KEY, TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required; see README.md.
    Serve {
        /// Do not run the projectors in this process (run `callassist projector` elsewhere).
        #[arg(long)]
        no_projectors: bool,
    },
    /// Run only the projectors (and the RabbitMQ relay when AMQP_URL is set), no HTTP, until
    /// SIGINT or SIGTERM: scale them apart from the web nodes. One instance of each projection
    /// (and of the relay) runs across all processes; the others wait.
    ///
    /// Needs only DATABASE_URL and ENCRYPTION_KEY (and AMQP_URL for the relay).
    Projector,
    /// Inspect and rebuild the read models.
    #[command(subcommand)]
    Projections(ProjectionsCommand),
    /// Replay history from the event store (not from a read model).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Accounts that only an operator may create.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Encryption keys: what each seals, and resealing after ENCRYPTION_KEY was rotated.
    #[command(subcommand)]
    Keys(crate::keys_cmd::KeysCommand),
    /// Callers' personal data: erase it on request (docs/privacy.md).
    #[command(subcommand)]
    Privacy(PrivacyCommand),
    /// Create the database if needed, apply pending migrations, and exit.
    ///
    /// Needs only DATABASE_URL.
    Migrate,
    /// Demo data, to watch the routing without a Twilio account.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// Play Twilio's part against a running server.
    #[command(subcommand)]
    Simulate(SimulateCommand),
}

/// `callassist admin …`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an administrator account (no HTTP endpoint makes admins). The password is read
    /// from the first line of standard input, never from the command line.
    ///
    /// Needs only DATABASE_URL (BCRYPT_COST optional, 12 by default).
    Create {
        /// The admin's email (normalised to lower case).
        #[arg(long)]
        email: String,
        /// Read the password from standard input (required: a password on the command line
        /// would land in the shell's history).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// First name.
        #[arg(long, default_value = "Admin")]
        first_name: String,
        /// Last name.
        #[arg(long, default_value = "Administrator")]
        last_name: String,
    },
}

/// `callassist privacy …`
#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Erase everything a business holds of one caller: the data keys of their calls are
    /// destroyed, so their number, words, messages, recordings and summaries read `[erased]`
    /// in every replay, audit and rebuilt read model; the erasure is recorded as an event.
    ///
    /// Needs DATABASE_URL and ENCRYPTION_KEY.
    Erase {
        /// The business (its UUID).
        #[arg(long)]
        business: String,
        /// The caller's number, E.164 (e.g. +14155550111).
        #[arg(long)]
        caller: String,
    },
}

/// `callassist audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Every event of one call, read from the event store, with its time, type and actor and the
    /// call's state after it; an erased caller's personal data shows as `[erased]`.
    ///
    /// Needs only DATABASE_URL and ENCRYPTION_KEY.
    Call {
        /// The call's Twilio CallSid (CA…).
        call_sid: String,
        /// Print one JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// `callassist projections …`
#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// Every projection with its version.
    List,
    /// Each projection's checkpoint, the head of the stream and the lag.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild one projection from the first event into fresh tables, then swap them in
    /// atomically: readers never see an empty or half-built table.
    Rebuild {
        /// The projection's name (see `callassist projections list`).
        name: String,
    },
}

/// `callassist demo …`
#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Create (or restore) the demo business — open all week, owner available, owner phone
    /// set, AI agent configured — with one phone number, and print them. Idempotent.
    ///
    /// Needs only DATABASE_URL.
    Seed {
        /// End with one line of JSON: business_id, phone_number, owner_phone, …
        #[arg(long)]
        json: bool,
    },
    /// Serve the built-in demo agent (a scripted OpenAI Realtime peer) as a server of its own,
    /// so a `callassist serve` with OPENAI_REALTIME_URL pointed at it runs every business'
    /// agent against it, whatever key they hold. For demos and browser tests; never for real
    /// callers.
    Agent {
        /// Where to listen (port 0 picks a free port; the URL is printed).
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: std::net::SocketAddr,
    },
}

/// `callassist simulate …`
#[derive(Debug, Subcommand)]
pub enum SimulateCommand {
    /// One call: the signed webhooks in Twilio's order (incoming, screening, dial result,
    /// voicemail), the AI agent's media stream (synthetic μ-law both ways, marks echoed as the
    /// agent's audio "plays"), then the status and recording callbacks; prints each request and
    /// answer, and a summary of what the server recorded.
    ///
    /// Signs with TWILIO_AUTH_TOKEN (and TWILIO_ACCOUNT_SID), as the server checks them; run
    /// `callassist demo seed` first for a number that rings somewhere (its agent is the
    /// built-in demo agent: no OpenAI key needed). Reads the call's events back from
    /// DATABASE_URL when it is set.
    Call {
        /// The number called (one of ours, e.g. the demo number).
        #[arg(long)]
        to: String,
        /// The caller's number.
        #[arg(long, default_value = "+14155550111")]
        from: String,
        /// What the owner does when the phone rings.
        #[arg(long, value_enum, default_value = "no-answer")]
        owner: OwnerBehaviour,
        /// The server to call (default: PUBLIC_BASE_URL, else http:// + BIND).
        #[arg(long)]
        server: Option<String>,
        /// The longest the AI agent's media stream runs before the caller hangs up; 0 closes
        /// the stream at once (Twilio then goes on to voicemail).
        #[arg(long, default_value_t = 20, value_name = "SECONDS")]
        ai_seconds: u64,
    },
}

/// Runs a parsed command line; the exit code says whether it succeeded.
pub fn run(cli: Cli) -> ExitCode {
    config::load_dotenv();
    // Long-running roles log to stdout; one-shot commands print their answer on stdout, so
    // their logs (warnings and errors only, by default) go to stderr.
    let subscriber = match cli.command {
        Command::Serve { .. } | Command::Projector => telemetry::subscriber(
            config::log_format_from_env(),
            "info,sqlx=warn,lapin=warn",
            std::io::stdout().is_terminal(),
            std::io::stdout,
        ),
        _ => telemetry::subscriber(
            config::log_format_from_env(),
            "warn",
            std::io::stderr().is_terminal(),
            std::io::stderr,
        ),
    };
    telemetry::install(subscriber);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Serve { no_projectors } => serve(!no_projectors).await,
            Command::Projector => projector().await,
            Command::Projections(command) => projections_command(command).await,
            Command::Admin(AdminCommand::Create {
                email,
                password_stdin: _,
                first_name,
                last_name,
            }) => admin_create(email, first_name, last_name).await,
            Command::Audit(AuditCommand::Call { call_sid, json }) => {
                crate::audit_cmd::run(&call_sid, json).await
            }
            Command::Keys(command) => crate::keys_cmd::run(command).await,
            Command::Privacy(PrivacyCommand::Erase { business, caller }) => {
                crate::privacy_cmd::run_erase(&business, &caller).await
            }
            Command::Migrate => migrate().await,
            Command::Demo(DemoCommand::Seed { json }) => demo_seed(json).await,
            Command::Demo(DemoCommand::Agent { bind }) => demo_agent(bind).await,
            Command::Simulate(SimulateCommand::Call {
                to,
                from,
                owner,
                server,
                ai_seconds,
            }) => simulate_call(to, from, owner, server, ai_seconds).await,
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

async fn serve(projectors: bool) -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let app = Application::build(settings)
        .await?
        .with_projectors(projectors);
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

async fn demo_seed(json: bool) -> anyhow::Result<()> {
    let settings = DatabaseSettings::from_env()?;
    let pool = db::connect_and_migrate(config::database_url(&settings)).await?;
    let stores = Stores::new(&pool, AppendSignal::new());
    let seeded = demo::seed(&stores).await?;
    pool.close().await;
    println!(
        "demo business: {} ({})",
        seeded.business_name, seeded.business_id
    );
    println!(
        "  phone number: {} (rings the owner at {})",
        seeded.phone_number, seeded.owner_phone
    );
    println!("  open all week, owner available, AI agent configured (demo agent, no OpenAI key)");
    println!(
        "  spare number: {} (unassigned: an admin can give it to a business)",
        seeded.spare_number
    );
    println!("  {} events appended", seeded.events_appended);
    println!(
        "try: callassist simulate call --to {} --owner no-answer",
        seeded.phone_number
    );
    if json {
        println!("{}", serde_json::to_string(&seeded)?);
    }
    Ok(())
}

async fn demo_agent(bind: std::net::SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|err| anyhow::anyhow!("cannot listen on {bind}: {err}"))?;
    let url = crate::voice::demo_agent::url_of(listener.local_addr()?)?;
    println!("demo agent listening: OPENAI_REALTIME_URL={url}");
    tokio::select! {
        () = crate::voice::demo_agent::accept(listener) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

async fn simulate_call(
    to: String,
    from: String,
    owner: OwnerBehaviour,
    server: Option<String>,
    ai_seconds: u64,
) -> anyhow::Result<()> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let auth_token = var("TWILIO_AUTH_TOKEN").ok_or_else(|| {
        anyhow::anyhow!("TWILIO_AUTH_TOKEN is missing: the simulator signs its webhooks with the server's token")
    })?;
    let account_sid = var("TWILIO_ACCOUNT_SID")
        .unwrap_or_else(|| "AC00000000000000000000000000000000".to_owned());
    let bind = var("BIND").unwrap_or_else(|| config::DEFAULT_BIND.to_owned());
    let server = server
        .unwrap_or_else(|| var("PUBLIC_BASE_URL").unwrap_or_else(|| format!("http://{bind}")));
    let public_base = var("PUBLIC_BASE_URL").unwrap_or_else(|| server.clone());
    Simulation {
        server,
        public_base,
        account_sid,
        auth_token: auth_token.into(),
        to,
        from,
        owner,
        ai_seconds,
        database_url: DatabaseSettings::from_env().ok().map(|db| db.url),
    }
    .run()
    .await
}

async fn database() -> anyhow::Result<sqlx::PgPool> {
    let settings = DatabaseSettings::from_env()?;
    Ok(db::connect_and_migrate(config::database_url(&settings)).await?)
}

async fn projector() -> anyhow::Result<()> {
    let pool = database().await?;
    let appended = AppendSignal::new();
    let relay = std::env::var("AMQP_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .map(SecretString::from);
    let roles = Roles {
        projectors: true,
        relay,
    };
    let privacy = crate::privacy_cmd::personal_data(&pool)?;
    let mut signals = crate::stopping::StopSignals::listen();
    let mut workers = Workers::spawn(
        &pool,
        &appended,
        roles,
        projections::registry::all(),
        &privacy,
    );
    println!(
        "callassist projector is running {} projections",
        projections::registry::all().len()
    );
    let outcome = tokio::select! {
        signal = signals.next() => {
            tracing::info!(signal, "stopping the projectors");
            // Nothing here waits for requests: a stop that takes longer is stuck.
            crate::stopping::exit_after(std::time::Duration::from_secs(15));
            Ok(())
        }
        stopped = workers.next_exit() => Err(anyhow::anyhow!("{stopped} stopped unexpectedly")),
    };
    workers.abort_all();
    pool.close().await;
    outcome
}

async fn projections_command(command: ProjectionsCommand) -> anyhow::Result<()> {
    let all = projections::registry::all();
    match command {
        ProjectionsCommand::List => {
            for projection in &all {
                println!("{:<20} version {}", projection.name(), projection.version());
            }
            Ok(())
        }
        ProjectionsCommand::Status { json } => {
            let pool = database().await?;
            let statuses = projections::runtime::status(&pool, &all).await?;
            let head = infrastructure::event_store::GlobalStream::new(pool.clone())
                .head()
                .await?;
            pool.close().await;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({ "head": head, "projections": statuses })
                    )?
                );
                return Ok(());
            }
            match head {
                Some(head) => println!(
                    "head of the stream: transaction {} position {}",
                    head.transaction_id, head.global_position
                ),
                None => println!("head of the stream: (no events)"),
            }
            println!(
                "{:<20} {:>7} {:>7} {:>22} {:>12} {:>10}",
                "projection", "version", "built", "checkpoint", "applied", "lag"
            );
            for status in statuses {
                let checkpoint = status.position.map_or("-".to_owned(), |p| {
                    format!("{}/{}", p.transaction_id, p.global_position)
                });
                let built = status
                    .built_version
                    .map_or("-".to_owned(), |v| v.to_string());
                println!(
                    "{:<20} {:>7} {:>7} {:>22} {:>12} {:>10}",
                    status.name,
                    status.version,
                    built,
                    checkpoint,
                    status.events_applied,
                    status.lag_events
                );
            }
            Ok(())
        }
        ProjectionsCommand::Rebuild { name } => {
            let Some(projection) = projections::registry::by_name(&name) else {
                let names: Vec<&str> = all.iter().map(|p| p.name()).collect();
                anyhow::bail!(
                    "no projection named {name:?}; there are: {}",
                    names.join(", ")
                );
            };
            let pool = database().await?;
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} rebuilding {prefix} [{bar:40}] {pos}/{len} events, {per_sec}, eta {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(name.clone());
            let started = std::time::Instant::now();
            let privacy = crate::privacy_cmd::personal_data(&pool)?;
            let report = projections::runtime::rebuild_opened(
                &pool,
                Some(&privacy),
                projection.as_ref(),
                &|applied, total| {
                    bar.set_length(total);
                    bar.set_position(applied);
                },
            )
            .await?;
            bar.finish_and_clear();
            pool.close().await;
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "rebuilt {name}: {} events in {seconds:.1} s ({:.0} events/s), swapped in at position {}",
                report.events,
                report.events as f64 / seconds.max(f64::EPSILON),
                report.position.global_position
            );
            Ok(())
        }
    }
}

async fn admin_create(email: String, first_name: String, last_name: String) -> anyhow::Result<()> {
    let cost = config::bcrypt_cost_from_env()?;
    let mut password = String::new();
    std::io::stdin().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    let pool = database().await?;
    let new = infrastructure::accounts::NewUser {
        email,
        password,
        first_name,
        last_name,
        role: infrastructure::accounts::Role::Admin,
    };
    let created = infrastructure::accounts::create_user(&pool, new, "cli", cost).await;
    pool.close().await;
    let user_id = created?;
    println!("admin account created: {user_id}");
    Ok(())
}
