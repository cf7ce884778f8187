use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use actix_web::test::TestRequest;
use infrastructure::config::LoginLimitSettings;

use super::memory::{Counts, MAX_TRACKED, PRUNE_EVERY};
use super::*;

const WINDOW: Duration = Duration::from_secs(900);

fn limiter(per_account: u32, per_address: u32) -> LoginLimiter {
    LoginLimiter::new(
        LoginLimitSettings {
            max_failures_per_account: per_account,
            max_failures_per_address: per_address,
            window: WINDOW,
        },
        false,
    )
}

fn ip(raw: &str) -> IpAddr {
    raw.parse().unwrap()
}

/// Fails `times` logins for `email` from `address` at `now`.
async fn fail(limiter: &LoginLimiter, address: &str, email: &str, times: u32, now: Instant) {
    for _ in 0..times {
        let attempt = limiter.attempt(ip(address), email, now).await.unwrap();
        limiter.failed(attempt);
    }
}

#[tokio::test]
async fn it_should_lock_an_account_after_its_failures_until_the_window_passes() {
    let limiter = limiter(5, 100);
    let start = Instant::now();
    fail(&limiter, "192.0.2.1", "ann@example.com", 5, start).await;

    let later = start + Duration::from_secs(60);
    let refused = limiter
        .attempt(ip("192.0.2.1"), "ann@example.com", later)
        .await;
    let from_elsewhere = limiter
        .attempt(ip("198.51.100.7"), " ANN@example.com ", later)
        .await;

    assert_eq!(refused.unwrap_err(), WINDOW - Duration::from_secs(60));
    assert!(
        from_elsewhere.is_err(),
        "the account is locked whoever asks"
    );
    assert!(
        limiter
            .attempt(ip("192.0.2.1"), "bob@example.com", later)
            .await
            .is_ok(),
        "another account is not"
    );
    assert!(
        limiter
            .attempt(ip("192.0.2.1"), "ann@example.com", start + WINDOW)
            .await
            .is_ok(),
        "the lock ends with the window"
    );
}

#[tokio::test]
async fn it_should_forget_an_accounts_failures_after_a_success() {
    let limiter = limiter(3, 100);
    let now = Instant::now();
    fail(&limiter, "192.0.2.1", "ann@example.com", 2, now).await;

    let attempt = limiter
        .attempt(ip("192.0.2.1"), "ann@example.com", now)
        .await
        .unwrap();
    limiter.succeeded(attempt).await;

    fail(&limiter, "192.0.2.1", "ann@example.com", 2, now).await;
    assert!(limiter
        .attempt(ip("192.0.2.1"), "ann@example.com", now)
        .await
        .is_ok());
}

#[tokio::test]
async fn it_should_lock_an_address_that_fails_on_many_accounts_and_no_other() {
    let limiter = limiter(5, 20);
    let now = Instant::now();
    for n in 0..20 {
        fail(
            &limiter,
            "203.0.113.9",
            &format!("user{n}@example.com"),
            1,
            now,
        )
        .await;
    }

    let refused = limiter
        .attempt(ip("203.0.113.9"), "fresh@example.com", now)
        .await;
    let other = limiter
        .attempt(ip("203.0.113.10"), "fresh@example.com", now)
        .await;

    assert_eq!(refused.unwrap_err(), WINDOW);
    assert!(other.is_ok(), "another address is unaffected");
}

#[tokio::test]
async fn it_should_not_count_an_attempt_that_succeeded_or_could_not_be_checked_against_the_address()
{
    let limiter = limiter(100, 2);
    let now = Instant::now();
    for _ in 0..5 {
        let attempt = limiter
            .attempt(ip("192.0.2.1"), "ann@example.com", now)
            .await
            .unwrap();
        limiter.succeeded(attempt).await;
        let attempt = limiter
            .attempt(ip("192.0.2.1"), "bob@example.com", now)
            .await
            .unwrap();
        limiter.inconclusive(attempt).await;
    }

    assert!(limiter
        .attempt(ip("192.0.2.1"), "carl@example.com", now)
        .await
        .is_ok());
}

#[tokio::test]
async fn it_should_count_attempts_in_flight_so_parallel_guesses_cannot_pass_the_last_slot() {
    let limiter = limiter(2, 100);
    let now = Instant::now();
    fail(&limiter, "192.0.2.1", "ann@example.com", 1, now).await;

    let first = limiter
        .attempt(ip("192.0.2.1"), "ann@example.com", now)
        .await;
    let second = limiter
        .attempt(ip("192.0.2.2"), "ann@example.com", now)
        .await;

    assert!(first.is_ok());
    assert!(
        second.is_err(),
        "the last slot is taken while the first is checked"
    );
}

#[tokio::test]
async fn it_should_say_the_longer_wait_when_account_and_address_are_both_locked() {
    let limiter = limiter(1, 2);
    let start = Instant::now();
    fail(&limiter, "192.0.2.1", "other@example.com", 1, start).await;
    let later = start + Duration::from_secs(100);
    fail(&limiter, "192.0.2.1", "ann@example.com", 1, later).await;

    let refused = limiter
        .attempt(ip("192.0.2.1"), "ann@example.com", later)
        .await;

    assert_eq!(
        refused.unwrap_err(),
        WINDOW,
        "the account's lock is the later"
    );
}

#[tokio::test]
async fn it_should_count_malformed_emails_against_the_address_only() {
    let limiter = limiter(1, 3);
    let now = Instant::now();
    fail(&limiter, "192.0.2.1", "not an email", 2, now).await;

    assert!(limiter
        .attempt(ip("192.0.2.1"), "not an email", now)
        .await
        .is_ok());
    assert!(limiter
        .attempt(ip("192.0.2.1"), "not an email", now)
        .await
        .is_err());
    assert_eq!(
        limiter.memory.state().accounts.windows.len(),
        0,
        "nothing stored"
    );
}

#[tokio::test]
async fn it_should_count_an_ipv6_client_by_its_64_prefix_and_a_mapped_ipv4_as_ipv4() {
    let limiter = limiter(100, 2);
    let now = Instant::now();
    fail(&limiter, "2001:db8:1:2::1", "a@example.com", 1, now).await;
    fail(&limiter, "2001:db8:1:2:ffff::9", "b@example.com", 1, now).await;

    assert!(limiter
        .attempt(ip("2001:db8:1:2::77"), "c@example.com", now)
        .await
        .is_err());
    assert!(limiter
        .attempt(ip("2001:db8:1:3::1"), "c@example.com", now)
        .await
        .is_ok());
    assert_eq!(address_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
}

#[tokio::test]
async fn it_should_drop_expired_windows_so_memory_stays_bounded() {
    let limiter = limiter(5, 100);
    let start = Instant::now();
    for n in 0..50 {
        fail(
            &limiter,
            &format!("192.0.2.{n}"),
            &format!("u{n}@example.com"),
            1,
            start,
        )
        .await;
    }
    assert_eq!(limiter.memory.state().accounts.windows.len(), 50);

    fail(
        &limiter,
        "198.51.100.1",
        "late@example.com",
        1,
        start + WINDOW + PRUNE_EVERY,
    )
    .await;

    let state = limiter.memory.state();
    assert_eq!(
        state.accounts.windows.len(),
        1,
        "only the live window is kept"
    );
    assert_eq!(state.addresses.windows.len(), 1);
}

#[test]
fn it_should_evict_the_oldest_window_when_full_of_live_ones() {
    let mut counts: Counts<u32> = Counts::new(5);
    let start = Instant::now();
    for key in 0..u32::try_from(MAX_TRACKED).unwrap() {
        counts.count(key, start + Duration::from_millis(u64::from(key)), WINDOW);
    }
    counts.count(1, start, WINDOW); // a key already tracked evicts nothing
    assert_eq!(counts.windows.len(), MAX_TRACKED);

    counts.count(u32::MAX, start + Duration::from_secs(200), WINDOW);

    assert_eq!(counts.windows.len(), MAX_TRACKED);
    assert!(counts.windows.contains_key(&u32::MAX));
    assert!(!counts.windows.contains_key(&0), "the oldest went");
}

fn request(peer: &str, forwarded: &[&str]) -> actix_web::HttpRequest {
    let mut request = TestRequest::default().peer_addr(peer.parse::<SocketAddr>().unwrap());
    for value in forwarded {
        request = request.append_header(("X-Forwarded-For", *value));
    }
    request.to_http_request()
}

#[test]
fn it_should_take_the_peer_address_unless_told_to_trust_the_proxy() {
    let untrusting = limiter(5, 20);
    let trusting = LoginLimiter::new(LoginLimitSettings::default(), true);
    let forwarded = request("10.0.0.5:41000", &["203.0.113.1, 198.51.100.2"]);

    assert_eq!(untrusting.client_address(&forwarded), ip("10.0.0.5"));
    assert_eq!(
        trusting.client_address(&forwarded),
        ip("198.51.100.2"),
        "the entry our proxy added, not what the client claimed before it"
    );
    assert_eq!(
        trusting.client_address(&request(
            "10.0.0.5:1",
            &["203.0.113.1", "[2001:db8::1]:443"]
        )),
        ip("2001:db8::1")
    );
    assert_eq!(
        trusting.client_address(&request("10.0.0.5:1", &["garbage"])),
        ip("10.0.0.5")
    );
    assert_eq!(
        trusting.client_address(&request("10.0.0.5:1", &[])),
        ip("10.0.0.5")
    );
}
