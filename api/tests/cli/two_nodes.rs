//! Two `callassist serve` processes on one database: with `REDIS_URL` they share the login
//! limits, without it each counts alone; sessions (refresh tokens in PostgreSQL) are shared
//! either way. Needs Redis at `REDIS_URL` (default
//! `redis://127.0.0.1:6379`; ./scripts/test provides it).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::{fresh_database_url, server_env, start_server, Server};

/// A running node, killed when dropped, so a failed assertion leaves no process behind.
struct Node(Server);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.child.kill();
        let _ = self.0.child.wait();
    }
}

fn redis_url() -> String {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let address = url
        .trim_start_matches("redis://")
        .split(['/', '?'])
        .next()
        .unwrap()
        .rsplit('@')
        .next()
        .unwrap()
        .to_owned();
    let reachable = address
        .parse()
        .ok()
        .and_then(|socket| TcpStream::connect_timeout(&socket, Duration::from_secs(3)).ok());
    assert!(
        reachable.is_some(),
        "this test needs Redis at REDIS_URL={url} (./scripts/test starts one)"
    );
    url
}

/// Two nodes on one fresh database, sharing Redis when `redis` is set, under a key prefix of
/// their own (`REDIS_KEY_PREFIX`), so neither earlier runs nor other users of the same Redis
/// count here. The per-address limit is set out of reach: the test is about the account's.
fn two_nodes(redis: Option<&str>) -> (Node, Node) {
    let mut env = server_env(&fresh_database_url());
    env.push(("LOGIN_MAX_FAILURES_PER_ADDRESS", "1000000".to_owned()));
    if let Some(url) = redis {
        env.push(("REDIS_URL", url.to_owned()));
        env.push((
            "REDIS_KEY_PREFIX",
            format!("callassist-test-{}", uuid::Uuid::new_v4().simple()),
        ));
    }
    // One after the other: the first creates and migrates the database.
    let first = Node(start_server(&env));
    let second = Node(start_server(&env));
    (first, second)
}

/// The status of a failed login for `email` on `node`.
fn wrong_login(node: &Node, email: &str) -> u16 {
    let url = reqwest::Url::parse(&node.0.base).unwrap();
    let (host, port) = (url.host_str().unwrap(), url.port().unwrap());
    let body = format!(r#"{{"email":"{email}","password":"not-the-password"}}"#);
    let mut stream = TcpStream::connect((host, port)).unwrap();
    write!(
        stream,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
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

/// The statuses of six failed logins for one new account, alternating between the nodes.
fn six_alternating_failures(nodes: &(Node, Node), email: &str) -> Vec<u16> {
    (0..6)
        .map(|n| wrong_login(if n % 2 == 0 { &nodes.0 } else { &nodes.1 }, email))
        .collect()
}

#[test]
fn it_should_refuse_the_sixth_failed_login_on_either_node_when_they_share_redis() {
    let nodes = two_nodes(Some(&redis_url()));
    let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());

    let statuses = six_alternating_failures(&nodes, &email);

    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    assert_eq!(wrong_login(&nodes.0, &email), 429, "the first node too");
    let other = format!("{}@example.com", uuid::Uuid::new_v4().simple());
    assert_eq!(
        wrong_login(&nodes.0, &other),
        401,
        "another account is not locked"
    );
}

#[test]
fn it_should_let_each_node_count_alone_without_redis() {
    let nodes = two_nodes(None);
    let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());

    let statuses = six_alternating_failures(&nodes, &email);

    assert_eq!(
        statuses, [401; 6],
        "three failures on each node: neither reached its five"
    );
}

/// `POST path` with a JSON body on `node`: (status, body).
fn post_json(
    runtime: &tokio::runtime::Runtime,
    node: &Node,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", node.0.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    })
}

#[test]
fn it_should_share_sessions_between_nodes_a_logout_on_one_ends_them_on_the_other() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (a, b) = two_nodes(None);
    let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
    let account = serde_json::json!({
        "email": email, "password": "correct horse battery staple",
        "first_name": "Ann", "last_name": "Baker"
    });
    assert_eq!(
        post_json(&runtime, &a, "/api/v1/auth/register", account).0,
        201
    );
    let login = serde_json::json!({"email": email, "password": "correct horse battery staple"});
    let (status, pair) = post_json(&runtime, &a, "/api/v1/auth/login", login);
    assert_eq!(status, 200, "{pair}");
    let refresh = pair["refresh_token"].clone();

    // A browser's two requests renew at the same moment, one on each node: both get a session.
    let on_a = post_json(
        &runtime,
        &a,
        "/api/v1/auth/refresh",
        serde_json::json!({"refresh_token": refresh}),
    );
    let on_b = post_json(
        &runtime,
        &b,
        "/api/v1/auth/refresh",
        serde_json::json!({"refresh_token": refresh}),
    );
    assert_eq!((on_a.0, on_b.0), (200, 200), "{} {}", on_a.1, on_b.1);

    // Logging out on A ends the session everywhere: B refuses its token too.
    let logout = serde_json::json!({"refresh_token": on_a.1["refresh_token"]});
    assert_eq!(
        post_json(&runtime, &a, "/api/v1/auth/logout", logout).0,
        204
    );
    let (status, problem) = post_json(
        &runtime,
        &b,
        "/api/v1/auth/refresh",
        serde_json::json!({"refresh_token": on_b.1["refresh_token"]}),
    );
    assert_eq!(status, 401, "{problem}");
    assert_eq!(problem["code"], "invalid_refresh_token");
}
