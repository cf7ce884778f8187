//! Two `callassist serve` processes on one database, as behind a load balancer: Twilio's retry
//! of a webhook that lands on the other node changes nothing (same TwiML, one call), and the
//! outbound webhooks are delivered once each — one node dispatches, the other stands by and
//! takes over when the first dies. Needs PostgreSQL at `DATABASE_URL`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use infrastructure::twilio::signature::{Algorithm, Body, Signer};
use infrastructure::vault::Vault;
use infrastructure::webhooks::{endpoints, signing, EventType};
use secrecy::SecretString;

use super::{fresh_database_url, server_env, start_server, Server};

const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "cli-test-auth-token";
const ENCRYPTION_KEY: [u8; 32] = *b"0123456789abcdef0123456789abcdef";
const CALLER: &str = "+14155550111";
/// The address Twilio calls, in front of both nodes (a load balancer in production).
const PUBLIC: &str = "https://calls.example.com";

/// A running node, killed when dropped, so a failed assertion leaves no process behind.
struct Node(Server);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.child.kill();
        let _ = self.0.child.wait();
    }
}

/// One request the receiver got: (webhook-id, whether its signature checked out).
type Got = (String, bool);

/// A CRM's receiver on 127.0.0.1 answering 204 to everything, recording every request.
fn receiver(secret: Arc<Mutex<Option<String>>>) -> (String, Arc<Mutex<Vec<Got>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/crm", listener.local_addr().unwrap());
    let got: Arc<Mutex<Vec<Got>>> = Arc::default();
    let seen = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = BTreeMap::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap_or_default();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or_default() == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                }
            }
            let length: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or_default();
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap_or_default();
            let body = String::from_utf8_lossy(&body).into_owned();
            let id = headers.get("webhook-id").cloned().unwrap_or_default();
            let verified = secret.lock().unwrap().as_ref().is_some_and(|secret| {
                let timestamp: i64 = headers
                    .get("webhook-timestamp")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_default();
                let expected =
                    signing::sign(&SecretString::from(secret.clone()), &id, timestamp, &body)
                        .unwrap();
                headers.get("webhook-signature") == Some(&expected)
            });
            seen.lock().unwrap().push((id, verified));
            let _ = stream.write_all(
                b"HTTP/1.1 204 No Content\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            );
        }
    });
    (url, got)
}

/// Posts Twilio's signed form to `path` on `node` (signed over the public URL, as Twilio signs
/// what it calls); returns the status and body.
fn post_twilio(
    runtime: &tokio::runtime::Runtime,
    node: &Node,
    path: &str,
    params: &[(&str, &str)],
) -> (u16, String) {
    let url = format!("{}{path}", node.0.base);
    let public = format!("{PUBLIC}{path}");
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let signature = Signer::new(SecretString::from(AUTH_TOKEN)).sign(
        Algorithm::HmacSha1,
        &public,
        &Body::Form(&owned),
    );
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(&url)
            .header("X-Twilio-Signature", signature)
            .form(&owned)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    })
}

fn call_params<'a>(
    sid: &'a str,
    number: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("CallSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", CALLER),
        ("To", number),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
    ];
    params.extend_from_slice(extra);
    if !params.iter().any(|(k, _)| *k == "CallStatus") {
        params.push(("CallStatus", "ringing"));
    }
    params
}

fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < within, "{what} within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn it_should_answer_a_retry_on_the_other_node_alike_and_deliver_each_webhook_once() {
    let url = fresh_database_url();
    let mut env = server_env(&url);
    env.push(("WEBHOOKS_ALLOW_HTTP_LOOPBACK", "true".to_owned()));
    env.push(("PUBLIC_BASE_URL", PUBLIC.to_owned()));
    // A first: it creates and migrates the database and leads the dispatcher; then B.
    let mut a = Node(start_server(&env));
    let b = Node(start_server(&env));
    let seeded = super::callassist(&["demo", "seed", "--json"], &super::as_refs(&env))
        .output()
        .unwrap();
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let seed: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&seeded.stdout)
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    let number = seed["phone_number"].as_str().unwrap().to_owned();
    let business: uuid::Uuid = seed["business_id"].as_str().unwrap().parse().unwrap();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let pool = runtime.block_on(infrastructure::db::connect(&url)).unwrap();
    let secret = Arc::new(Mutex::new(None));
    let (crm, got) = receiver(secret.clone());
    let (_, plain) = runtime
        .block_on(endpoints::register(
            &pool,
            &Vault::new(&ENCRYPTION_KEY, []),
            business,
            &crm,
            &[EventType::CallEnded],
            None,
            true,
        ))
        .unwrap();
    *secret.lock().unwrap() = Some(secrecy::ExposeSecret::expose_secret(&plain).to_owned());
    let count = |query: &str| -> i64 {
        runtime
            .block_on(sqlx::query_scalar(query).fetch_one(&pool))
            .unwrap()
    };

    // (a) Twilio's incoming-call webhook on A, its retry on B: the same answer, one call.
    let sid = format!("CA{}", uuid::Uuid::new_v4().simple());
    let first = post_twilio(
        &runtime,
        &a,
        "/twilio/voice/incoming",
        &call_params(&sid, &number, &[]),
    );
    let retry = post_twilio(
        &runtime,
        &b,
        "/twilio/voice/incoming",
        &call_params(&sid, &number, &[]),
    );
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(
        retry, first,
        "the retry on the other node gets the same TwiML"
    );
    let received = format!(
        "SELECT count(*) FROM events WHERE aggregate_id = '{sid}' AND event_type = 'CallReceived'"
    );
    assert_eq!(count(&received), 1);

    // (b) The call ends (the status callback to B, retried to A): one delivery, sent once.
    let ended = [("CallStatus", "completed"), ("CallDuration", "31")];
    assert_eq!(
        post_twilio(
            &runtime,
            &b,
            "/twilio/voice/status",
            &call_params(&sid, &number, &ended)
        )
        .0,
        204
    );
    assert_eq!(
        post_twilio(
            &runtime,
            &a,
            "/twilio/voice/status",
            &call_params(&sid, &number, &ended)
        )
        .0,
        204
    );
    wait_for("the call.ended delivery", Duration::from_secs(20), || {
        count("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'") == 1
    });
    std::thread::sleep(Duration::from_secs(2));
    let seen = got.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "delivered exactly once: {seen:?}");
    assert!(seen[0].1, "signed with the endpoint's secret");
    let holders = count(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 \
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND classid::bigint = ((hashtextextended('callassist.webhooks', 0) >> 32) & 4294967295) \
           AND objid::bigint = (hashtextextended('callassist.webhooks', 0) & 4294967295)",
    );
    assert_eq!(holders, 1, "one dispatcher leads");

    // The leader dies; the next call's end is delivered by the other node, once.
    a.0.child.kill().unwrap();
    a.0.child.wait().unwrap();
    let later = format!("CA{}", uuid::Uuid::new_v4().simple());
    assert_eq!(
        post_twilio(
            &runtime,
            &b,
            "/twilio/voice/incoming",
            &call_params(&later, &number, &[])
        )
        .0,
        200
    );
    assert_eq!(
        post_twilio(
            &runtime,
            &b,
            "/twilio/voice/status",
            &call_params(&later, &number, &ended)
        )
        .0,
        204
    );
    wait_for("B delivers after A died", Duration::from_secs(30), || {
        count("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'") == 2
    });
    std::thread::sleep(Duration::from_secs(1));
    let seen = got.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "each delivered exactly once: {seen:?}");
    assert_ne!(seen[0].0, seen[1].0);
    assert!(seen.iter().all(|(_, verified)| *verified));
}
