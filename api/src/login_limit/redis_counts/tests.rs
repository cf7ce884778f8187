//! The Redis store against the real Redis at `REDIS_URL` (default `redis://127.0.0.1:6379`).
//! Each test counts under a prefix of its own, so tests run in parallel without meeting.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use infrastructure::config::LoginLimitSettings;
use redis::AsyncCommands;

use crate::login_limit::LoginLimiter;

const WINDOW: Duration = Duration::from_secs(60);

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A connection to the test Redis; fails the test, loudly, when there is none.
async fn redis() -> redis::aio::MultiplexedConnection {
    let url = redis_url();
    let connected = async {
        let mut connection = redis::Client::open(url.as_str())?
            .get_multiplexed_async_connection()
            .await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await?;
        Ok::<_, redis::RedisError>(connection)
    };
    match tokio::time::timeout(Duration::from_secs(3), connected).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(err)) => {
            panic!("these tests need Redis at REDIS_URL={url} (scripts/test starts one): {err}")
        }
        Err(_) => panic!(
            "these tests need Redis at REDIS_URL={url} (scripts/test starts one): no answer in 3s"
        ),
    }
}

/// A prefix no other test uses.
fn prefix() -> String {
    format!("callassist:test:{}:login", uuid::Uuid::new_v4())
}

/// A node counting in the test Redis under `prefix`.
async fn node(prefix: &str, per_account: u32, per_address: u32, window: Duration) -> LoginLimiter {
    redis().await;
    LoginLimiter::with_redis_prefix(
        LoginLimitSettings {
            max_failures_per_account: per_account,
            max_failures_per_address: per_address,
            window,
        },
        false,
        &redis_url(),
        prefix,
    )
    .unwrap()
}

fn ip(raw: &str) -> IpAddr {
    raw.parse().unwrap()
}

async fn fail(limiter: &LoginLimiter, address: &str, email: &str) {
    let attempt = limiter
        .attempt(ip(address), email, Instant::now())
        .await
        .unwrap();
    assert_eq!(
        attempt.counted,
        super::super::Counted::Redis,
        "counted in Redis"
    );
    limiter.failed(attempt);
}

#[tokio::test]
async fn it_should_lock_an_account_on_every_node_after_failures_spread_over_two() {
    let prefix = prefix();
    let (one, two) = (
        node(&prefix, 5, 100, WINDOW).await,
        node(&prefix, 5, 100, WINDOW).await,
    );
    for n in 0..5 {
        let node = if n % 2 == 0 { &one } else { &two };
        fail(node, &format!("192.0.2.{n}"), "ann@example.com").await;
    }

    let on_one = one
        .attempt(ip("198.51.100.1"), " ANN@example.com", Instant::now())
        .await;
    let on_two = two
        .attempt(ip("198.51.100.2"), "ann@example.com", Instant::now())
        .await;

    let retry_after = on_one.unwrap_err();
    assert!(retry_after <= WINDOW && retry_after > WINDOW - Duration::from_secs(10));
    assert!(on_two.is_err(), "the other node refuses it too");
    assert!(one
        .attempt(ip("198.51.100.1"), "bob@example.com", Instant::now())
        .await
        .is_ok());
}

#[tokio::test]
async fn it_should_forget_an_accounts_failures_after_a_success_on_another_node() {
    let prefix = prefix();
    let (one, two) = (
        node(&prefix, 3, 100, WINDOW).await,
        node(&prefix, 3, 100, WINDOW).await,
    );
    fail(&one, "192.0.2.1", "ann@example.com").await;
    fail(&one, "192.0.2.1", "ann@example.com").await;

    let attempt = two
        .attempt(ip("192.0.2.1"), "ann@example.com", Instant::now())
        .await
        .unwrap();
    two.succeeded(attempt).await;

    fail(&one, "192.0.2.1", "ann@example.com").await;
    fail(&two, "192.0.2.1", "ann@example.com").await;
    assert!(one
        .attempt(ip("192.0.2.1"), "ann@example.com", Instant::now())
        .await
        .is_ok());
}

#[tokio::test]
async fn it_should_not_count_attempts_that_succeeded_or_could_not_be_checked_against_the_address() {
    let limiter = node(&prefix(), 100, 2, WINDOW).await;
    for _ in 0..5 {
        let attempt = limiter
            .attempt(ip("192.0.2.1"), "ann@example.com", Instant::now())
            .await
            .unwrap();
        limiter.succeeded(attempt).await;
        let attempt = limiter
            .attempt(ip("192.0.2.1"), "bob@example.com", Instant::now())
            .await
            .unwrap();
        limiter.inconclusive(attempt).await;
    }

    assert!(limiter
        .attempt(ip("192.0.2.1"), "carl@example.com", Instant::now())
        .await
        .is_ok());
}

#[tokio::test]
async fn it_should_let_only_as_many_parallel_guesses_through_as_there_are_free_slots() {
    let prefix = prefix();
    let (one, two) = (
        node(&prefix, 3, 100, WINDOW).await,
        node(&prefix, 3, 100, WINDOW).await,
    );

    let guesses = (0..20).map(|n| {
        let node = if n % 2 == 0 { &one } else { &two };
        node.attempt(ip("192.0.2.1"), "ann@example.com", Instant::now())
    });
    let results = futures::future::join_all(guesses).await;

    assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 3);
}

#[tokio::test]
async fn it_should_end_the_lock_with_the_window() {
    let window = Duration::from_millis(300);
    let limiter = node(&prefix(), 1, 100, window).await;
    fail(&limiter, "192.0.2.1", "ann@example.com").await;
    assert!(limiter
        .attempt(ip("192.0.2.1"), "ann@example.com", Instant::now())
        .await
        .is_err());

    tokio::time::sleep(window + Duration::from_millis(100)).await;

    assert!(limiter
        .attempt(ip("192.0.2.1"), "ann@example.com", Instant::now())
        .await
        .is_ok());
}

#[tokio::test]
async fn it_should_keep_namespaced_counters_that_expire_with_the_window_and_no_email() {
    let prefix = prefix();
    let limiter = node(&prefix, 5, 100, WINDOW).await;
    fail(&limiter, "2001:db8:1:2::1", "Ann@Example.com").await;
    fail(&limiter, "2001:db8:1:2:ffff::9", "not an email").await;

    let mut redis = redis().await;
    let mut keys: Vec<String> = redis.keys(format!("{prefix}:*")).await.unwrap();
    keys.sort();
    let account = format!(
        "{prefix}:account:{:x}",
        <sha2::Sha256 as sha2::Digest>::digest("ann@example.com")
    );
    let address = format!("{prefix}:address:2001:db8:1:2::/64");
    assert_eq!(
        keys,
        vec![account.clone(), address.clone()],
        "no key for a malformed email"
    );
    assert_eq!(
        redis.get::<_, u32>(&address).await.unwrap(),
        2,
        "one /64, one counter"
    );
    let ttl: i64 = redis.pttl(&account).await.unwrap();
    assert!(
        ttl > 0 && ttl <= 60_000,
        "expires with the window, not {ttl}"
    );
}

#[tokio::test]
async fn it_should_fall_back_to_this_nodes_memory_when_redis_is_unreachable() {
    // Nothing listens on port 1: connecting is refused at once.
    let limiter = LoginLimiter::with_redis_prefix(
        LoginLimitSettings {
            max_failures_per_account: 2,
            max_failures_per_address: 100,
            window: WINDOW,
        },
        false,
        "redis://127.0.0.1:1",
        &prefix(),
    )
    .unwrap();
    let now = Instant::now();

    let first = limiter
        .attempt(ip("192.0.2.1"), "ann@example.com", now)
        .await
        .unwrap();
    assert_eq!(first.counted, super::super::Counted::Memory);
    limiter.failed(first);
    let second = limiter
        .attempt(ip("192.0.2.1"), "ann@example.com", now)
        .await
        .unwrap();
    limiter.inconclusive(second).await;
    let third = limiter
        .attempt(ip("192.0.2.1"), "ann@example.com", now)
        .await
        .unwrap();
    limiter.failed(third);

    let refused = limiter
        .attempt(ip("192.0.2.1"), "ann@example.com", now)
        .await;
    assert_eq!(
        refused.unwrap_err(),
        WINDOW,
        "the limit still holds, on this node"
    );
    assert!(
        limiter
            .attempt(ip("192.0.2.1"), "bob@example.com", now)
            .await
            .is_ok(),
        "and locks out no one else"
    );
}
