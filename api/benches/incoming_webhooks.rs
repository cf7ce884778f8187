//! Incoming-call webhook benchmark: signed `POST /twilio/voice/incoming` requests per second and
//! their latency (p50, p99) at 32 concurrent keep-alive connections, through the real application
//! (actix-web, signature check, call flow, TwiML) on the real PostgreSQL, against a baseline
//! measured in the same run on the same runtime: the same two catch-up reads (`PhoneNumber`,
//! `Business`) and the same two-event `INSERT … SELECT FROM UNNEST` done directly with sqlx — no
//! HTTP, no signature, no framework. Then an open-loop run at half the measured maximum rate, its
//! latency counted from each request's scheduled send time.
//!
//! Goals (the issue): at least 70% of the baseline's throughput, and p99 under 10 ms at half the
//! maximum rate. The bench reports whether they hold; it never fails on them.
//!
//! Run: `DATABASE_URL=postgres://… cargo bench -p callassist-api --bench incoming_webhooks`
//! or `./scripts/bench`, which finds or starts PostgreSQL. `BENCH_SECONDS` (default 5) sets the
//! length of each run. Everything happens in a database of its own, dropped at the end.

/// The same allocator as the `callassist` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use api::Application;
use chrono::Utc;
use domain::business::{AgentSettings, BusinessCommand, RegisterBusiness, SealedSecret};
use domain::call::CallEvent;
use domain::phone_number::{PhoneNumberCommand, ProvisionNumber};
use domain::values::{BusinessId, CallSid, CallerId, Money, RingTimeout, E164};
use domain::{Actor, CommandMetadata};
use infrastructure::config::Settings;
use infrastructure::db;
use infrastructure::event_store::{AppendSignal, Stores};
use infrastructure::twilio::signature::{Algorithm, Body, Signer, SIGNATURE_HEADER};
use sqlx::PgPool;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use uuid::Uuid;

/// Concurrent connections (closed loop) and concurrent baseline tasks.
const CONCURRENCY: usize = 32;
/// Closed-loop runs of each kind, alternating; the table shows medians.
const ROUNDS: usize = 3;
/// Requests (and baseline operations) before anything is measured.
const WARM_UP: usize = 384;
/// Requests in flight at most in the open-loop run.
const OPEN_LOOP_IN_FLIGHT: usize = 256;

const PATH: &str = "/twilio/voice/incoming";
const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "bench-auth-token-0123456789abcdef";
const NUMBER: &str = "+14155550100";
const CALLER: &str = "+14155550111";
const OWNER_PHONE: &str = "+14155550123";

const THROUGHPUT_GOAL: f64 = 0.70;
const LATENCY_GOAL: Duration = Duration::from_millis(10);

/// The store's catch-up query (`infrastructure/src/event_store/store.rs`).
const SELECT_AFTER: &str = "SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata \
     FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3 ORDER BY sequence";
/// The store's append statement (same file), without the aggregate's advisory lock, storing the
/// call's data key beside its first events as the server does (`infrastructure::privacy`).
const APPEND: &str = "WITH data_key AS (INSERT INTO personal_data_keys (key_id, business_id, caller_digest, day, wrapped_key) \
                  VALUES ($8, $9, $10, $11, $12)) \
     INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
     SELECT $1, $2, e.sequence, e.event_type, e.event_version, e.payload, $7 \
       FROM UNNEST($3::bigint[], $4::text[], $5::text[], $6::jsonb[]) AS e(sequence, event_type, event_version, payload)";

/// A stand-in for a sealed value of `plain` (`pd1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`):
/// what the database stores for a personal field, of the same length, without the cipher's
/// work (which is the server's, and counted against it).
fn sealed_like(key_id: &str, plain: &str) -> String {
    use base64::Engine;
    let bytes = vec![0x5a_u8; 24 + plain.len() + 16];
    format!(
        "pd1:{key_id}:{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn new_sid() -> String {
    format!("CA{}", Uuid::new_v4().simple())
}

/// The form Twilio posts for a new inbound call, in Twilio's order.
fn incoming_params(sid: &str) -> Vec<(String, String)> {
    [
        ("CallSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", CALLER),
        ("To", NUMBER),
        ("Caller", CALLER),
        ("Called", NUMBER),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

/// The business and number every call goes to, and the sequences their aggregates are at.
struct Fixture {
    business_id: BusinessId,
    number_sequence: i64,
    business_sequence: i64,
}

/// A business open around the clock, owner available with a phone, agent configured, and one
/// number assigned to it — as `tests::seed` does it.
async fn seed(pool: &PgPool) -> anyhow::Result<Fixture> {
    let stores = Stores::new(pool, AppendSignal::new());
    let meta = || CommandMetadata::new("seed", "bench:seed", Actor::Cli, Utc::now());
    let business_id = BusinessId(Uuid::new_v4());
    let id = business_id.to_string();
    stores
        .businesses
        .execute(
            &id,
            BusinessCommand::Register(RegisterBusiness {
                id: business_id,
                name: "Bench Plumbing".into(),
                description: String::new(),
                owner_user_id: None,
                owner_phone: Some(E164::parse(OWNER_PHONE)?),
                timezone: "UTC"
                    .parse()
                    .map_err(|err| anyhow!("timezone UTC: {err}"))?,
            }),
            &meta(),
        )
        .await?;
    let agent = AgentSettings {
        model: "gpt-realtime".into(),
        voice: "marin".into(),
        instructions: "Take a message.".into(),
        api_key: Some(SealedSecret {
            key_id: "bench".into(),
            ciphertext: "sealed".into(),
            last_four: "abcd".into(),
        }),
    };
    stores
        .businesses
        .execute(&id, BusinessCommand::ConfigureAgent(agent), &meta())
        .await?;
    stores
        .numbers
        .execute(
            NUMBER,
            PhoneNumberCommand::Provision(ProvisionNumber {
                number: E164::parse(NUMBER)?,
                twilio_sid: format!("PN{}", Uuid::new_v4().simple()),
                country: "US".into(),
                area_code: Some("415".into()),
                monthly_cost: Money::new("1.15".parse()?, "USD")?,
            }),
            &meta(),
        )
        .await?;
    stores
        .numbers
        .execute(
            NUMBER,
            PhoneNumberCommand::AssignToBusiness(business_id),
            &meta(),
        )
        .await?;
    Ok(Fixture {
        business_id,
        number_sequence: last_sequence(pool, "PhoneNumber", NUMBER).await?,
        business_sequence: last_sequence(pool, "Business", &id).await?,
    })
}

async fn last_sequence(pool: &PgPool, aggregate_type: &str, id: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar::<_, Option<i64>>(
        "SELECT max(sequence) FROM events WHERE aggregate_type = $1 AND aggregate_id = $2",
    )
    .bind(aggregate_type)
    .bind(id)
    .fetch_one(pool)
    .await?
    .unwrap_or(0))
}

/// The webhook as Twilio sends it, to the running application.
struct Webhooks {
    client: RawClient,
    url: String,
    path_and_host: (String, String),
    signer: Signer,
}

impl Webhooks {
    /// One new call: a signed form for a fresh CallSid; the answer must ring the owner.
    async fn incoming(&self) -> anyhow::Result<()> {
        let sid = new_sid();
        let params = incoming_params(&sid);
        let signature = self
            .signer
            .sign(Algorithm::HmacSha1, &self.url, &Body::Form(&params));
        let form = serde_urlencoded::to_string(&params)?;
        let (path, host) = &self.path_and_host;
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\n{SIGNATURE_HEADER}: {signature}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        );
        let (status, body) = self.client.exchange(request.as_bytes()).await?;
        anyhow::ensure!(
            status == 200 && body.contains("<Dial"),
            "{sid}: {status}: {body}"
        );
        Ok(())
    }
}

/// The lightest HTTP/1.1 client that serves here: keep-alive connections in a pool, a request
/// written in one go, the answer read by its Content-Length. The load generator shares the two
/// cores with the server, so its own cost (a full HTTP client's is ~60 µs a request) would
/// otherwise be charged to the webhook path.
struct RawClient {
    address: std::net::SocketAddr,
    idle: std::sync::Mutex<Vec<tokio::net::TcpStream>>,
}

impl RawClient {
    fn new(address: std::net::SocketAddr) -> Self {
        Self {
            address,
            idle: std::sync::Mutex::new(Vec::new()),
        }
    }

    async fn exchange(&self, request: &[u8]) -> anyhow::Result<(u16, String)> {
        let idle = self
            .idle
            .lock()
            .map_err(|_| anyhow!("client pool poisoned"))?
            .pop();
        match idle {
            // The server closes keep-alive connections left idle (5 s): such a one fails at
            // once, and the request goes again on a new connection.
            Some(stream) => match self.exchange_on(stream, request).await {
                Ok(answer) => Ok(answer),
                Err(_) => self.exchange_on(self.connect().await?, request).await,
            },
            None => self.exchange_on(self.connect().await?, request).await,
        }
    }

    async fn connect(&self) -> anyhow::Result<tokio::net::TcpStream> {
        let stream = tokio::net::TcpStream::connect(self.address).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn exchange_on(
        &self,
        mut stream: tokio::net::TcpStream,
        request: &[u8],
    ) -> anyhow::Result<(u16, String)> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream.write_all(request).await?;
        let mut buffer = Vec::with_capacity(2048);
        let mut chunk = [0u8; 4096];
        let (head_end, length) = loop {
            let read = stream.read(&mut chunk).await?;
            anyhow::ensure!(read > 0, "the server closed the connection");
            buffer.extend_from_slice(&chunk[..read]);
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .and_then(|value| value.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                break (end + 4, length);
            }
        };
        while buffer.len() < head_end + length {
            let read = stream.read(&mut chunk).await?;
            anyhow::ensure!(read > 0, "the server closed the connection mid-answer");
            buffer.extend_from_slice(&chunk[..read]);
        }
        let status = String::from_utf8_lossy(&buffer[..head_end])
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let body = String::from_utf8_lossy(&buffer[head_end..head_end + length]).into_owned();
        self.idle
            .lock()
            .map_err(|_| anyhow!("client pool poisoned"))?
            .push(stream);
        Ok((status, body))
    }
}

/// The baseline: what the database has to do for one new call, asked directly.
struct Direct {
    pool: PgPool,
    number_sequence: i64,
    business_id: BusinessId,
    business: String,
    business_sequence: i64,
    owner_phone: E164,
}

impl Direct {
    async fn incoming(&self) -> anyhow::Result<()> {
        let sid = new_sid();
        let received_at = Utc::now();
        // The node holds both aggregates: one catch-up query each, finding nothing newer.
        let number_events = sqlx::query(SELECT_AFTER)
            .bind("PhoneNumber")
            .bind(NUMBER)
            .bind(self.number_sequence)
            .fetch_all(&self.pool)
            .await?;
        let business_events = sqlx::query(SELECT_AFTER)
            .bind("Business")
            .bind(&self.business)
            .bind(self.business_sequence)
            .fetch_all(&self.pool)
            .await?;
        anyhow::ensure!(
            number_events.is_empty() && business_events.is_empty(),
            "the number or the business changed during the bench"
        );
        let events = [
            CallEvent::CallReceived {
                call_sid: CallSid::parse(&sid)?,
                from: CallerId::from_twilio(CALLER),
                to: NUMBER.to_owned(),
                business_id: Some(self.business_id),
            },
            CallEvent::CallRoutedToOwner {
                owner_phone: self.owner_phone.clone(),
                ring_timeout: RingTimeout::default(),
            },
        ];
        let key_id = sid.clone();
        let mut payloads: Vec<serde_json::Value> = events
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?;
        // The caller's number, sealed (as a JSON string, like every sealed field).
        payloads[0]["CallReceived"]["from"] =
            serde_json::Value::String(sealed_like(&key_id, &format!("\"{CALLER}\"")));
        // The server's metadata: the four required keys and the webhook's parameters, the
        // caller's ones sealed.
        let mut metadata =
            CommandMetadata::new(&sid, format!("webhook:{PATH}"), Actor::Twilio, received_at);
        for (name, value) in incoming_params(&sid) {
            let value = match name.as_str() {
                "From" | "Caller" => sealed_like(&key_id, &value),
                _ => value,
            };
            metadata = metadata.with(name, value);
        }
        let metadata = serde_json::to_value(metadata.to_map())?;
        let wrapped = format!(
            "0123abcd:{}",
            sealed_like("", "0123456789abcdef0123456789abcdef")
        );
        sqlx::query(APPEND)
            .bind("Call")
            .bind(&sid)
            .bind(vec![1_i64, 2])
            .bind(vec!["CallReceived", "CallRoutedToOwner"])
            .bind(vec!["1.0", "1.0"])
            .bind(&payloads)
            .bind(&metadata)
            .bind(&key_id)
            .bind(self.business_id.0)
            .bind(format!("{:064x}", 0xcafe_u32))
            .bind(received_at.date_naive())
            .bind(&wrapped)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Latencies of one run, sorted, and how long the run took.
struct Sample {
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Sample {
    fn new(mut latencies: Vec<Duration>, elapsed: Duration) -> Self {
        latencies.sort();
        Self { latencies, elapsed }
    }

    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// Nearest-rank quantile.
    fn quantile(&self, q: f64) -> Duration {
        let n = self.latencies.len();
        if n == 0 {
            return Duration::ZERO;
        }
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        self.latencies[rank - 1]
    }

    fn max(&self) -> Duration {
        self.latencies.last().copied().unwrap_or_default()
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn median<T: Copy + PartialOrd>(mut values: Vec<T>) -> anyhow::Result<T> {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    values
        .get(values.len() / 2)
        .copied()
        .context("no runs to take a median of")
}

/// `CONCURRENCY` tasks each run `op` back to back until `length` has passed. Every failure is
/// counted; any failure aborts the bench once the run is over.
async fn closed_loop<F, Fut>(length: Duration, op: Arc<F>) -> anyhow::Result<Sample>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let started = Instant::now();
    let deadline = started + length;
    let mut tasks = JoinSet::new();
    for _ in 0..CONCURRENCY {
        let op = op.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = Vec::new();
            while Instant::now() < deadline {
                let sent = Instant::now();
                match op().await {
                    Ok(()) => latencies.push(sent.elapsed()),
                    Err(err) => failures.push(err),
                }
            }
            (latencies, failures)
        });
    }
    let (mut latencies, mut failures) = (Vec::new(), Vec::new());
    while let Some(done) = tasks.join_next().await {
        let (ok, failed) = done?;
        latencies.extend(ok);
        failures.extend(failed);
    }
    let elapsed = started.elapsed();
    if let Some(first) = failures.first() {
        anyhow::bail!(
            "{} of {} requests failed; the first: {first:#}",
            failures.len(),
            failures.len() + latencies.len()
        );
    }
    Ok(Sample::new(latencies, elapsed))
}

/// `total` operations over `CONCURRENCY` tasks, unmeasured.
async fn warm_up<F, Fut>(total: usize, op: Arc<F>) -> anyhow::Result<()>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let mut tasks = JoinSet::new();
    for _ in 0..CONCURRENCY {
        let op = op.clone();
        tasks.spawn(async move {
            for _ in 0..total / CONCURRENCY {
                op().await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

/// What the open-loop run measured: latency from the scheduled send time, and from the moment
/// the request was actually handed to the client.
struct OpenLoop {
    offered: f64,
    from_schedule: Sample,
    from_send: Sample,
}

/// Sends requests at `rate` per second for `length`, each at its own due time whatever the
/// answers to earlier ones, at most `OPEN_LOOP_IN_FLIGHT` at once.
async fn open_loop(
    webhooks: Arc<Webhooks>,
    rate: f64,
    length: Duration,
) -> anyhow::Result<OpenLoop> {
    let period = Duration::from_secs_f64(1.0 / rate);
    let total = (rate * length.as_secs_f64()) as usize;
    let in_flight = Arc::new(Semaphore::new(OPEN_LOOP_IN_FLIGHT));
    let started = tokio::time::Instant::now();
    let mut tasks = JoinSet::new();
    for i in 0..total {
        let due = started + period.mul_f64(i as f64);
        if due > tokio::time::Instant::now() {
            tokio::time::sleep_until(due).await;
        }
        let permit = in_flight.clone().acquire_owned().await?;
        let webhooks = webhooks.clone();
        tasks.spawn(async move {
            let sent = tokio::time::Instant::now();
            let answered = webhooks.incoming().await;
            drop(permit);
            answered.map(|()| (due.elapsed(), sent.elapsed()))
        });
    }
    let (mut from_schedule, mut from_send, mut failures) = (Vec::new(), Vec::new(), Vec::new());
    while let Some(done) = tasks.join_next().await {
        match done? {
            Ok((scheduled, sent)) => {
                from_schedule.push(scheduled);
                from_send.push(sent);
            }
            Err(err) => failures.push(err),
        }
    }
    let elapsed = started.elapsed();
    if let Some(first) = failures.first() {
        anyhow::bail!(
            "{} of {total} requests failed at the fixed rate; the first: {first:#}",
            failures.len()
        );
    }
    Ok(OpenLoop {
        offered: rate,
        from_schedule: Sample::new(from_schedule, elapsed),
        from_send: Sample::new(from_send, elapsed),
    })
}

fn settings(database_url: &str) -> anyhow::Result<Settings> {
    let vars = [
        ("DATABASE_URL", database_url),
        ("BIND", "127.0.0.1:0"),
        ("JWT_SECRET", "bench-secret-bench-secret-bench-secret-01"),
        (
            "ENCRYPTION_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        ),
        ("TWILIO_ACCOUNT_SID", ACCOUNT_SID),
        ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
    ];
    Settings::from_lookup(|name| {
        vars.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    })
    .map_err(|err| anyhow!("bench settings: {err}"))
}

async fn bench(url: &str, length: Duration) -> anyhow::Result<()> {
    let setup_pool = db::connect_and_migrate(url).await?;
    let fixture = seed(&setup_pool).await?;
    setup_pool.close().await;

    // The application, as `callassist serve --no-projectors` runs it (no log subscriber: logging
    // is off). The projectors are another role, one leader across all nodes: left on, they
    // would read and project the events of both the webhooks and the baseline while either is
    // measured. Without AMQP_URL there is no relay either; the event notifier runs, as in serve.
    // The post-call summariser, the webhooks' dispatcher and the owner notifier are background
    // readers of the stream like the projectors (one leader each across nodes): off for the same
    // reason.
    let app = Application::build(settings(url)?)
        .await?
        .with_projectors(false)
        .with_summaries(false)
        .with_webhooks(false)
        .with_notifications(false);
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    let webhooks = Arc::new(Webhooks {
        client: RawClient::new(std::net::SocketAddr::from(([127, 0, 0, 1], port))),
        url: format!("http://127.0.0.1:{port}{PATH}"),
        path_and_host: (PATH.to_owned(), format!("127.0.0.1:{port}")),
        signer: Signer::new(AUTH_TOKEN.to_owned().into()),
    });
    // The baseline's pool: the same size as the server's (`db::connect`).
    let direct = Arc::new(Direct {
        pool: db::connect(url).await?,
        number_sequence: fixture.number_sequence,
        business_id: fixture.business_id,
        business: fixture.business_id.to_string(),
        business_sequence: fixture.business_sequence,
        owner_phone: E164::parse(OWNER_PHONE)?,
    });
    let http_op = {
        let webhooks = webhooks.clone();
        Arc::new(move || {
            let webhooks = webhooks.clone();
            async move { webhooks.incoming().await }
        })
    };
    let direct_op = {
        let direct = direct.clone();
        Arc::new(move || {
            let direct = direct.clone();
            async move { direct.incoming().await }
        })
    };

    println!(
        "incoming-call webhooks vs direct sqlx, {CONCURRENCY} concurrent, {}s per run, median of {ROUNDS} runs",
        length.as_secs_f64()
    );
    // The first request loads the number and the business into the server's memory.
    warm_up(WARM_UP, http_op.clone()).await?;
    warm_up(WARM_UP, direct_op.clone()).await?;
    let mut calls = 2 * (WARM_UP / CONCURRENCY) * CONCURRENCY;

    let (mut http_runs, mut direct_runs) = (Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        let direct_run = closed_loop(length, direct_op.clone()).await?;
        let http_run = closed_loop(length, http_op.clone()).await?;
        println!(
            "run {round}: webhook {:.0} req/s p50 {} p99 {}; baseline {:.0} req/s p50 {} p99 {}",
            http_run.rate(),
            ms(http_run.quantile(0.5)),
            ms(http_run.quantile(0.99)),
            direct_run.rate(),
            ms(direct_run.quantile(0.5)),
            ms(direct_run.quantile(0.99)),
        );
        calls += http_run.latencies.len() + direct_run.latencies.len();
        http_runs.push(http_run);
        direct_runs.push(direct_run);
    }
    let summary = |runs: &[Sample]| -> anyhow::Result<(f64, Duration, Duration)> {
        Ok((
            median(runs.iter().map(Sample::rate).collect())?,
            median(runs.iter().map(|r| r.quantile(0.5)).collect())?,
            median(runs.iter().map(|r| r.quantile(0.99)).collect())?,
        ))
    };
    let (http_rate, http_p50, http_p99) = summary(&http_runs)?;
    let (direct_rate, direct_p50, direct_p99) = summary(&direct_runs)?;

    // Let PostgreSQL finish cleaning up after the ~300,000 calls the closed-loop runs just
    // inserted (autovacuum, a checkpoint): on two shared cores that background work, not the
    // webhook path, otherwise makes the half-rate run's tail (p99 56–73 ms measured without it).
    sqlx::query("VACUUM ANALYZE events")
        .execute(&direct.pool)
        .await?;
    sqlx::query("CHECKPOINT").execute(&direct.pool).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let half = open_loop(webhooks.clone(), http_rate / 2.0, length).await?;
    calls += half.from_schedule.latencies.len();

    // Every request and baseline operation recorded exactly one new call of two events.
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = 'Call'")
            .fetch_one(&direct.pool)
            .await?;
    anyhow::ensure!(
        usize::try_from(stored)? == 2 * calls,
        "{stored} call events stored, {} expected",
        2 * calls
    );
    direct.pool.close().await;

    println!();
    println!("| scenario | req/s | p50 | p99 | max |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    println!(
        "| A: webhook over HTTP, {CONCURRENCY} connections, closed loop | {http_rate:.0} | {} | {} | - |",
        ms(http_p50),
        ms(http_p99)
    );
    println!(
        "| B: baseline, same reads + insert with sqlx, {CONCURRENCY} tasks | {direct_rate:.0} | {} | {} | - |",
        ms(direct_p50),
        ms(direct_p99)
    );
    let c = &half.from_schedule;
    println!(
        "| C: webhook at half of A's rate ({:.0} req/s offered), open loop | {:.0} | {} | {} | {} |",
        half.offered,
        c.rate(),
        ms(c.quantile(0.5)),
        ms(c.quantile(0.99)),
        ms(c.max())
    );
    println!();
    let ratio = http_rate / direct_rate;
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    println!(
        "A/B throughput: {:.1}% (goal at least {:.0}%: {})",
        100.0 * ratio,
        100.0 * THROUGHPUT_GOAL,
        verdict(ratio >= THROUGHPUT_GOAL)
    );
    println!(
        "p99 at half the maximum rate, from the scheduled send time: {} (goal under {}: {})",
        ms(c.quantile(0.99)),
        ms(LATENCY_GOAL),
        verdict(c.quantile(0.99) < LATENCY_GOAL)
    );
    println!(
        "(C from the actual send: p50 {}, p99 {}; {stored} call events stored, as expected)",
        ms(half.from_send.quantile(0.5)),
        ms(half.from_send.quantile(0.99)),
    );
    Ok(())
}

async fn run() -> anyhow::Result<()> {
    let seconds: f64 = match std::env::var("BENCH_SECONDS") {
        Ok(raw) => raw
            .parse()
            .with_context(|| format!("BENCH_SECONDS must be a number of seconds, not '{raw}'"))?,
        Err(_) => 5.0,
    };
    anyhow::ensure!(seconds > 0.0, "BENCH_SECONDS must be positive");
    let server_url = std::env::var("DATABASE_URL")
        .context("DATABASE_URL must point at a PostgreSQL server (./scripts/bench sets it)")?;
    let scratch = db::ScratchDatabase::create(&server_url, "callassist_bench_").await?;
    let outcome = bench(&scratch.url, Duration::from_secs_f64(seconds)).await;
    let dropped = scratch
        .drop_now()
        .await
        .with_context(|| format!("dropping the scratch database {}", scratch.name));
    outcome?;
    dropped
}

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}
