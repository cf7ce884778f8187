//! The `callassist` binary as an operator runs it: help, configuration errors, migrate, serve
//! and graceful shutdown. Needs PostgreSQL at `DATABASE_URL` (./scripts/test provides it).
// Test code: a panic is a failed assertion with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_callassist");

#[path = "cli/failover.rs"]
mod failover;
#[path = "cli/keys.rs"]
mod keys;
#[path = "cli/privacy.rs"]
mod privacy;
#[path = "cli/two_nodes.rs"]
mod two_nodes;
#[path = "cli/two_nodes_webhooks.rs"]
mod two_nodes_webhooks;

/// A command with an empty environment (but PATH) in an empty folder, so no `.env` is found.
fn callassist(args: &[&str], env: &[(&str, &str)]) -> Command {
    let dir =
        std::env::temp_dir().join(format!("callassist-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = Command::new(BIN);
    command.args(args).current_dir(dir).env_clear();
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

fn fresh_database_url() -> String {
    let server = std::env::var("DATABASE_URL")
        .expect("DATABASE_URL is not set: these tests need PostgreSQL. Run ./scripts/test.");
    let mut url = reqwest::Url::parse(&server).expect("DATABASE_URL parses");
    url.set_path(&format!(
        "callassist_test_{}",
        uuid::Uuid::new_v4().simple()
    ));
    url.to_string()
}

#[test]
fn it_should_explain_every_subcommand_with_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["help", "serve"],
    ] {
        let output = callassist(&args, &[]).output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{args:?} failed");
        assert!(text.contains("Usage: callassist"), "{args:?}: {text}");
    }
    let top = callassist(&["--help"], &[]).output().unwrap();
    let text = String::from_utf8_lossy(&top.stdout);
    assert!(text.contains("serve") && text.contains("migrate"), "{text}");
}

#[test]
fn it_should_refuse_to_serve_without_settings_and_name_each_missing_one() {
    let output = callassist(&["serve"], &[]).output().unwrap();

    assert!(!output.status.success());
    let errors = String::from_utf8_lossy(&output.stderr);
    for name in [
        "DATABASE_URL",
        "JWT_SECRET",
        "ENCRYPTION_KEY",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
    ] {
        assert!(errors.contains(name), "{name} not named in: {errors}");
    }
}

#[test]
fn it_should_name_a_malformed_setting() {
    let output = callassist(
        &["serve"],
        &[
            ("DATABASE_URL", "postgres://localhost/x"),
            ("JWT_SECRET", "too short"),
            (
                "ENCRYPTION_KEY",
                "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            ),
        ],
    )
    .output()
    .unwrap();

    assert!(!output.status.success());
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(
        errors.contains("JWT_SECRET must be at least 32 bytes"),
        "{errors}"
    );
}

#[test]
fn it_should_create_and_migrate_a_database_and_do_it_again_harmlessly() {
    let url = fresh_database_url();

    let first = callassist(&["migrate"], &[("DATABASE_URL", &url)])
        .output()
        .unwrap();
    let second = callassist(&["migrate"], &[("DATABASE_URL", &url)])
        .output()
        .unwrap();

    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(String::from_utf8_lossy(&second.stdout).contains("database is up to date"));
}

#[test]
fn it_should_fail_clearly_when_the_database_cannot_be_reached() {
    let output = callassist(
        &["migrate"],
        &[("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")],
    )
    .output()
    .unwrap();

    assert!(!output.status.success());
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(
        errors.contains("cannot reach PostgreSQL at 127.0.0.1:1/none"),
        "{errors}"
    );
}

#[test]
fn it_should_serve_health_and_stop_gracefully_on_sigterm() {
    serve_then_stop_with("-TERM");
}

#[test]
fn it_should_stop_gracefully_on_sigint_too() {
    serve_then_stop_with("-INT");
}

#[test]
fn it_should_exit_at_once_on_a_second_signal_while_a_request_holds_the_graceful_stop() {
    use std::io::Write;
    let url = fresh_database_url();
    let Server {
        mut child,
        base,
        seen,
        lines,
    } = start_server(&server_env(&url));
    // Once the workers answer (a connection made earlier waits in the listen backlog, and a
    // stop would drop it unread)...
    assert_eq!(http::blocking_get(&format!("{base}/health/ready")), 200);
    // ...a request in flight that never finishes: its head promises a body that never comes (the
    // signature is checked over the body, so the webhook waits for it).
    let address = base.trim_start_matches("http://");
    let mut request = std::net::TcpStream::connect(address).unwrap();
    write!(
        request,
        "POST /twilio/voice/status HTTP/1.1\r\nHost: {address}\r\nX-Twilio-Signature: bm90LXNpZ25lZA==\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nCallSid=CA"
    )
    .unwrap();
    request.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    if let Some(status) = child.try_wait().unwrap() {
        let logs: Vec<String> = seen.iter().cloned().chain(lines.try_iter()).collect();
        panic!("stopped ({status}) without waiting for the request in flight: {logs:#?}");
    }
    let status = signal_and_wait(
        &mut child,
        "-INT",
        Duration::from_secs(5),
        "a second signal did not stop the node",
    );

    assert_eq!(
        status.code(),
        Some(1),
        "a forced stop is not a clean one: {status}"
    );
    let logs: Vec<String> = seen.into_iter().chain(lines.try_iter()).collect();
    assert!(
        logs.iter()
            .any(|line| line.contains("a second stop signal") && line.contains("SIGINT")),
        "the node says why it did not wait: {logs:?}"
    );
    drop(request);
}

#[test]
fn it_should_run_the_projectors_on_their_own_and_stop_on_sigterm() {
    let url = fresh_database_url();
    let env = server_env(&url);
    let mut projector = callassist(&["projector"], &as_refs(&env))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = stdout_lines(&mut projector);
    let running = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the projector starts and says so");
        if line.starts_with("callassist projector is running") {
            break line;
        }
    };

    let status = signal_and_wait(
        &mut projector,
        "-TERM",
        Duration::from_secs(10),
        "the projector did not stop on SIGTERM",
    );

    assert!(running.contains("projections"), "{running}");
    assert!(status.success(), "exit status {status}");
    assert!(
        lines
            .try_iter()
            .any(|line| line.contains("stopping the projectors") && line.contains("SIGTERM")),
        "the projector says which signal stopped it"
    );
}

/// The settings of a server over `database_url`, on a free port.
fn server_env(database_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", database_url.to_owned()),
        ("BIND", "127.0.0.1:0".to_owned()),
        ("JWT_SECRET", "0123456789abcdef0123456789abcdef".to_owned()),
        (
            "ENCRYPTION_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_owned(),
        ),
        ("LOG_FORMAT", "json".to_owned()),
        (
            "TWILIO_ACCOUNT_SID",
            "AC0123456789abcdef0123456789abcdef".to_owned(),
        ),
        ("TWILIO_AUTH_TOKEN", "cli-test-auth-token".to_owned()),
    ]
}

fn as_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Sends `signal` (`-TERM`, `-INT`) to `child` and waits for it to exit, failing with `why` if
/// it takes longer than `within`.
fn signal_and_wait(
    child: &mut std::process::Child,
    signal: &str,
    within: Duration,
    why: &str,
) -> std::process::ExitStatus {
    Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(started.elapsed() < within, "{why}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The lines `child` prints, as they come.
fn stdout_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

/// A running `callassist serve`, its base URL and the lines it printed so far.
struct Server {
    child: std::process::Child,
    base: String,
    seen: Vec<String>,
    lines: std::sync::mpsc::Receiver<String>,
}

fn start_server(env: &[(&'static str, String)]) -> Server {
    let mut child = callassist(&["serve"], &as_refs(env))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let lines = stdout_lines(&mut child);
    let mut seen = Vec::new();
    let base = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the server starts and says where");
        if let Some(base) = line.strip_prefix("callassist is serving at ") {
            break base.trim().to_owned();
        }
        seen.push(line);
    };
    Server {
        child,
        base,
        seen,
        lines,
    }
}

fn serve_then_stop_with(signal: &str) {
    let url = fresh_database_url();
    let Server {
        mut child,
        base,
        seen,
        lines: lines_rx,
    } = start_server(&server_env(&url));

    let ready = http::blocking_get(&format!("{base}/health/ready"));
    let status = signal_and_wait(
        &mut child,
        signal,
        Duration::from_secs(30),
        "did not stop on the signal",
    );

    assert_eq!(ready, 200);
    assert!(status.success(), "exit status {status} after {signal}");
    let logs: Vec<String> = seen.into_iter().chain(lines_rx.try_iter()).collect();
    let json_lines = logs.iter().filter(|line| line.starts_with('{')).count();
    assert!(json_lines > 0, "LOG_FORMAT=json logs JSON: {logs:?}");
    assert!(
        logs.iter()
            .any(|line| line.contains("request_id") && line.contains("/health/ready")),
        "every request is logged with its id: {logs:?}"
    );
}

mod http {
    //! The smallest blocking HTTP GET: enough for one health check.
    use reqwest::Url;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    pub fn blocking_get(url: &str) -> u16 {
        let url = Url::parse(url).unwrap();
        let host = url.host_str().unwrap();
        let port = url.port().unwrap();
        let mut stream = TcpStream::connect((host, port)).unwrap();
        write!(
            stream,
            "GET {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
            url.path()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap()
    }
}

#[test]
fn it_should_seed_the_demo_idempotently_and_simulate_a_call_against_a_running_server() {
    let url = fresh_database_url();
    let env = server_env(&url);
    let seed = || {
        let output = callassist(&["demo", "seed", "--json"], &as_refs(&env))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let last = stdout.lines().last().unwrap_or_default().to_owned();
        serde_json::from_str::<serde_json::Value>(&last).expect("the last line is JSON")
    };

    let first = seed();
    let second = seed();
    let mut server = start_server(&env);
    let number = first["phone_number"].as_str().unwrap().to_owned();
    let simulated = callassist(
        &[
            "simulate",
            "call",
            "--to",
            &number,
            "--owner",
            "busy",
            "--server",
            &server.base,
            // No AI conversation: the stream closes at once and Twilio goes on to voicemail.
            "--ai-seconds",
            "0",
        ],
        &as_refs(&env),
    )
    .output()
    .unwrap();
    Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    server.child.wait().unwrap();

    assert!(first["events_appended"].as_u64().unwrap() > 0);
    assert_eq!(
        second["events_appended"], 0,
        "a second seed changes nothing"
    );
    assert_eq!(first["business_id"], second["business_id"]);
    assert!(first["owner_phone"].as_str().unwrap().starts_with('+'));
    assert_eq!(first["spare_number"], "+15555550101");
    let out = String::from_utf8_lossy(&simulated.stdout);
    assert!(
        simulated.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&simulated.stderr)
    );
    for expected in [
        "→ POST /twilio/voice/incoming",
        "<Dial timeout=\"20\"",
        "→ POST /twilio/voice/dial-result",
        "DialCallStatus=busy",
        "<Connect><Stream",
        "→ POST /twilio/voice/voicemail",
        "Your message has been recorded",
        "→ POST /twilio/voice/recording",
        "→ POST /twilio/voice/status",
        "→ POST /twilio/voice/transcription",
        "voicemail transcript: \"Hi, this is a simulated caller.",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert!(
        !out.contains("← 403"),
        "every webhook was signed right: {out}"
    );

    let sid = out
        .split("(CallSid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("the simulator names the call");
    let audit = callassist(&["audit", "call", sid, "--json"], &as_refs(&env))
        .output()
        .unwrap();
    assert!(
        audit.status.success(),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    let history: serde_json::Value =
        serde_json::from_slice(&audit.stdout).expect("--json prints only JSON");
    let types: Vec<&str> = history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    // The transcription comes after the end, as Twilio sends it; the summariser may have
    // recorded its outcome too before the server stopped.
    let (webhooks, summariser) = types.split_at(types.len().min(9));
    assert_eq!(
        webhooks,
        [
            "CallReceived",
            "CallRoutedToOwner",
            "OwnerMissed",
            "CallRoutedToAi",
            "CallRoutedToVoicemail",
            "VoicemailRecorded",
            "RecordingAvailable",
            "CallEnded",
            "VoicemailTranscribed"
        ]
    );
    assert!(
        summariser
            .iter()
            .all(|t| *t == "CallSummarized" || *t == "CallSummaryFailed"),
        "{types:?}"
    );
    assert_eq!(
        history["entries"][7]["state_after"]["end"]["status"],
        "completed"
    );
    let text = callassist(&["audit", "call", sid], &as_refs(&env))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("OwnerMissed v1.0  by twilio"));
    let unknown = callassist(
        &["audit", "call", "CA00000000000000000000000000000000"],
        &as_refs(&env),
    )
    .output()
    .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no call with CallSid"));
}

#[test]
fn it_should_list_report_and_rebuild_projections() {
    let url = fresh_database_url();
    let env = server_env(&url);
    let seeded = callassist(&["demo", "seed"], &as_refs(&env))
        .output()
        .unwrap();
    assert!(seeded.status.success());

    let list = callassist(&["projections", "list"], &as_refs(&env))
        .output()
        .unwrap();
    let rebuild = callassist(&["projections", "rebuild", "businesses"], &as_refs(&env))
        .output()
        .unwrap();
    let status = callassist(&["projections", "status", "--json"], &as_refs(&env))
        .output()
        .unwrap();
    let unknown = callassist(&["projections", "rebuild", "nope"], &as_refs(&env))
        .output()
        .unwrap();

    assert!(String::from_utf8_lossy(&list.stdout).contains("businesses"));
    assert!(
        rebuild.status.success(),
        "{}",
        String::from_utf8_lossy(&rebuild.stderr)
    );
    assert!(String::from_utf8_lossy(&rebuild.stdout).contains("rebuilt businesses"));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("JSON");
    let businesses = status["projections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "businesses")
        .unwrap()
        .clone();
    assert_eq!(businesses["lag_events"], 0, "{status}");
    assert_eq!(businesses["built_version"], businesses["version"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no projection named"));
}

#[test]
fn it_should_refuse_to_simulate_without_the_auth_token() {
    let output = callassist(&["simulate", "call", "--to", "+15555550100"], &[])
        .output()
        .unwrap();

    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("TWILIO_AUTH_TOKEN is missing"));
}

/// Runs `callassist admin create` with `password` on standard input.
fn admin_create(
    env: &[(&'static str, String)],
    email: &str,
    password: &str,
) -> std::process::Output {
    use std::io::Write;
    let mut child = callassist(
        &["admin", "create", "--email", email, "--password-stdin"],
        &as_refs(env),
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn it_should_create_the_first_admin_from_the_command_line_only_once_and_only_with_a_good_password()
{
    let url = fresh_database_url();
    let mut env = server_env(&url);
    env.push(("BCRYPT_COST", "4".to_owned()));

    let created = admin_create(&env, "  Ops@Example.COM ", "correct horse battery staple");
    let again = admin_create(&env, "ops@example.com", "another good password");
    let weak = admin_create(&env, "weak@example.com", "short");
    let no_stdin_flag = callassist(
        &["admin", "create", "--email", "x@example.com"],
        &as_refs(&env),
    )
    .output()
    .unwrap();

    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(String::from_utf8_lossy(&created.stdout).contains("admin account created"));
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 10 characters"));
    assert!(
        !no_stdin_flag.status.success(),
        "the password never comes from the command line"
    );
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = infrastructure::db::connect(&url).await.unwrap();
        let (email, role, hash): (String, String, String) =
            sqlx::query_as("SELECT email, role, password_hash FROM users")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(email, "ops@example.com", "normalised");
        assert_eq!(role, "admin");
        assert!(hash.starts_with("$2"), "a bcrypt hash, not the password");
        let verified = infrastructure::accounts::verify_password(
            &pool,
            "OPS@example.com",
            "correct horse battery staple",
        )
        .await
        .unwrap();
        assert!(verified.is_some());
        let wrong =
            infrastructure::accounts::verify_password(&pool, "ops@example.com", "wrong password!!")
                .await
                .unwrap();
        assert!(wrong.is_none());
        let changes: Vec<(String, String)> =
            sqlx::query_as("SELECT change, actor FROM user_changes")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(
            changes,
            vec![("created".to_owned(), "cli".to_owned())],
            "every change to a user is logged"
        );
    });
}

/// A stand-in for Twilio's REST API: answers every request with a call resource, and passes on
/// each request's first line and body.
fn fake_twilio_rest() -> (String, std::sync::mpsc::Receiver<(String, String)>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (requests_tx, requests) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = Vec::new();
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                head.push(std::mem::take(&mut line));
            }
            let length = head
                .iter()
                .find_map(|h| {
                    let (name, value) = h.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap_or_default();
            let request_line = head.first().cloned().unwrap_or_default();
            let answer = r#"{"sid":"CA00000000000000000000000000000000","status":"completed","duration":"5","price":null,"price_unit":"USD"}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = requests_tx.send((
                request_line.trim().to_owned(),
                String::from_utf8_lossy(&body).into_owned(),
            ));
        }
    });
    (base, requests)
}

#[test]
fn it_should_simulate_an_ai_call_end_to_end_with_the_built_in_demo_agent() {
    let url = fresh_database_url();
    let (twilio_rest, rest_requests) = fake_twilio_rest();
    let mut env = server_env(&url);
    env.push(("TWILIO_API_BASE", twilio_rest));
    let seeded = callassist(&["demo", "seed"], &as_refs(&env))
        .output()
        .unwrap();
    assert!(seeded.status.success());
    let mut server = start_server(&env);

    let simulated = callassist(
        &[
            "simulate",
            "call",
            "--to",
            "+15555550100",
            "--owner",
            "no-answer",
            "--server",
            &server.base,
        ],
        &as_refs(&env),
    )
    .output()
    .unwrap();
    Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    server.child.wait().unwrap();
    let logs: Vec<String> = server
        .seen
        .drain(..)
        .chain(server.lines.try_iter())
        .collect();

    let out = String::from_utf8_lossy(&simulated.stdout);
    assert!(
        simulated.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&simulated.stderr)
    );
    for expected in [
        "DialCallStatus=no-answer",
        "→ WebSocket ",
        "← agent audio: 1.50 s",
        "→ marks echoed",
        "(the caller speaks",
        "← the server closed the media stream",
        "→ POST /twilio/voice/status",
        "message taken: \"This was a demo call",
        "answered by the built-in demo agent (no OpenAI key configured)",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert!(
        !out.contains("← 403"),
        "the handshake was signed right: {out}"
    );
    assert!(
        !out.contains("POST /twilio/voice/voicemail"),
        "the agent took the call: {out}"
    );
    assert!(
        logs.iter()
            .any(|line| line.contains("the built-in demo agent answers this call")),
        "the server says who answers: {logs:?}"
    );
    let sid = out
        .split("(CallSid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("the simulator names the call");
    let hang_up = rest_requests
        .try_iter()
        .find(|(line, _)| line.contains(&format!("/Calls/{sid}.json")))
        .expect("the agent's end_call hung the call up through Twilio's REST API");
    assert!(hang_up.0.starts_with("POST "), "{hang_up:?}");
    assert_eq!(hang_up.1, "Status=completed");
    let audit = callassist(&["audit", "call", sid, "--json"], &as_refs(&env))
        .output()
        .unwrap();
    let history: serde_json::Value =
        serde_json::from_slice(&audit.stdout).expect("--json prints only JSON");
    let types: Vec<&str> = history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    let position = |kind: &str| {
        types
            .iter()
            .position(|t| *t == kind)
            .unwrap_or_else(|| panic!("no {kind} in {types:?}"))
    };
    assert!(position("CallRoutedToAi") < position("AiSessionStarted"));
    assert!(position("AiSessionStarted") < position("TranscriptSegmentRecorded"));
    assert!(position("TranscriptSegmentRecorded") < position("MessageTaken"));
    assert!(position("MessageTaken") < position("AiSessionEnded"));
    assert!(position("AiSessionEnded") < position("CallEnded"));
    let started = &history["entries"][position("AiSessionStarted")]["event"]["AiSessionStarted"];
    assert_eq!(started["model"], "demo");
    let ended = &history["entries"][position("AiSessionEnded")]["event"]["AiSessionEnded"];
    assert_eq!(ended["reason"], "agent ended the call");
}

#[test]
fn it_should_serve_the_demo_agent_on_its_own_for_a_server_to_point_at() {
    let mut agent = callassist(&["demo", "agent", "--bind", "127.0.0.1:0"], &[])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(agent.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("demo agent listening: OPENAI_REALTIME_URL=")
        .unwrap_or_else(|| panic!("the agent prints its URL: {line}"))
        .to_owned();

    let greeting = tokio::runtime::Runtime::new().unwrap().block_on(async {
        use futures::StreamExt;
        let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("the agent accepts a Realtime connection");
        let first = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("the agent speaks first")
            .unwrap()
            .unwrap();
        first.into_text().unwrap().to_string()
    });
    agent.kill().unwrap();
    agent.wait().unwrap();

    let event: serde_json::Value = serde_json::from_str(&greeting).unwrap();
    assert_eq!(event["type"], "session.created");
    assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
}

#[test]
fn it_should_not_let_an_open_dashboard_hold_up_a_graceful_stop() {
    let url = fresh_database_url();
    let Server {
        mut child, base, ..
    } = start_server(&server_env(&url));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    let mut live = runtime.block_on(async {
        let account = serde_json::json!({
            "email": "ann@example.com", "password": "correct horse battery",
            "first_name": "Ann", "last_name": "Smith"
        });
        let registered = client
            .post(format!("{base}/api/v1/auth/register"))
            .json(&account)
            .send()
            .await
            .unwrap();
        assert_eq!(registered.status(), 201);
        let pair: serde_json::Value = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"email": "ann@example.com", "password": "correct horse battery"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = pair["access_token"].as_str().unwrap().to_owned();
        let mut live = client
            .get(format!("{base}/dashboard/live"))
            .header("cookie", format!("ca_access={token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(live.status(), 200);
        assert!(live.chunk().await.unwrap().is_some(), "the stream opens");
        live
    });

    let status = signal_and_wait(
        &mut child,
        "-TERM",
        Duration::from_secs(10),
        "an open dashboard stream held the stop (the grace is 30 s)",
    );

    assert!(status.success(), "exit status {status}");
    let rest = runtime.block_on(async {
        let mut rest = 0;
        while let Ok(Some(chunk)) = live.chunk().await {
            rest += chunk.len();
        }
        rest
    });
    assert!(rest < 10_000, "the stream ended");
}
