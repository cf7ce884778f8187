//! Failed-login limiting: after too many failed logins for one account, or from one client
//! address, within a window, further attempts are refused (429 with Retry-After) before the
//! password is checked, until the window has passed. It slows down password guessing against
//! one account (the per-account limit) and spraying many accounts from one machine (the
//! per-address limit), and keeps bcrypt from being used to burn our CPU.
//!
//! Where the counts live: without `REDIS_URL`, in this node's memory (`memory`), which is for
//! one node — behind a load balancer each node would count on its own, multiplying the limit
//! by the number of nodes. With `REDIS_URL`, in Redis (`redis_counts`), shared by every node.
//!
//! When Redis cannot be reached at a login, the node falls back to its own in-memory counts
//! and logs the failure at error. Neither of the other choices is safe: refusing every login
//! would let a Redis outage lock everyone out, and letting every login through would make the
//! limit vanish exactly when something is wrong. Falling back keeps a limit (per node, as
//! without Redis) and keeps logins working; the next login tries Redis again (after a second).
//!
//! Every attempt let through counts as a failure until it is shown to be otherwise: two
//! guesses sent at the same moment cannot both slip past the last free slot while bcrypt runs.
//! An attempt is settled in the store that counted it. Time is passed in (`now`) for the
//! in-memory counts, so the tests step through windows without sleeping; Redis keeps its own.

mod memory;
mod redis_counts;

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use infrastructure::accounts::Email;
use infrastructure::config::{LoginLimitSettings, Settings};
use secrecy::ExposeSecret;

use self::memory::MemoryCounts;
pub use self::redis_counts::RedisCountsError;
use self::redis_counts::{RedisCounts, LOGIN_KEYS};
use infrastructure::config::DEFAULT_REDIS_KEY_PREFIX;

/// The store that counted an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counted {
    Memory,
    Redis,
}

/// A login attempt the limiter let through. Until [`LoginLimiter::succeeded`] or
/// [`LoginLimiter::inconclusive`] says otherwise it counts as a failure, so dropping it is
/// failing it.
#[derive(Debug)]
#[must_use = "an attempt counts as failed unless it is reported as succeeded or inconclusive"]
pub struct Attempt {
    address: IpAddr,
    account: Option<String>,
    counted: Counted,
}

/// Counts failed logins per account and per client address; see the module documentation.
#[derive(Debug)]
pub struct LoginLimiter {
    trust_forwarded_for: bool,
    /// This node's counts: the only ones without Redis, the fallback with it.
    memory: MemoryCounts,
    redis: Option<RedisCounts>,
}

impl LoginLimiter {
    /// A limiter with these limits, counting in this node's memory; `trust_forwarded_for`
    /// takes the client's address from `X-Forwarded-For` (only behind a proxy that sets it).
    pub fn new(limits: LoginLimitSettings, trust_forwarded_for: bool) -> Self {
        Self {
            trust_forwarded_for,
            memory: MemoryCounts::new(&limits),
            redis: None,
        }
    }

    /// The limiter `settings` ask for: in Redis with `REDIS_URL`, else in this node's memory.
    ///
    /// # Errors
    /// `REDIS_URL` is not one the redis client can use.
    pub fn from_settings(settings: &Settings) -> Result<Self, RedisCountsError> {
        let limits = settings.login_limits;
        match &settings.redis_url {
            Some(url) => {
                tracing::info!("login limits are counted in Redis, shared by every node");
                Self::with_redis_prefix(
                    limits,
                    settings.trust_forwarded_for,
                    url.expose_secret(),
                    &format!("{}:{LOGIN_KEYS}", settings.redis_key_prefix),
                )
            }
            None => Ok(Self::new(limits, settings.trust_forwarded_for)),
        }
    }

    /// A limiter counting in the Redis at `url`, shared by every node that uses it.
    ///
    /// # Errors
    /// The URL is not one the redis client can use.
    pub fn with_redis(
        limits: LoginLimitSettings,
        trust_forwarded_for: bool,
        url: &str,
    ) -> Result<Self, RedisCountsError> {
        Self::with_redis_prefix(
            limits,
            trust_forwarded_for,
            url,
            &format!("{DEFAULT_REDIS_KEY_PREFIX}:{LOGIN_KEYS}"),
        )
    }

    /// Like [`LoginLimiter::with_redis`], with keys under `prefix` (tests keep apart this way).
    ///
    /// # Errors
    /// The URL is not one the redis client can use.
    pub fn with_redis_prefix(
        limits: LoginLimitSettings,
        trust_forwarded_for: bool,
        url: &str,
        prefix: &str,
    ) -> Result<Self, RedisCountsError> {
        Ok(Self {
            trust_forwarded_for,
            memory: MemoryCounts::new(&limits),
            redis: Some(RedisCounts::new(url, prefix, limits)?),
        })
    }

    /// Lets a login for `email` from `address` be tried, counting it as a failure for now;
    /// refuses it while the account or the address is locked.
    ///
    /// # Errors
    /// How long until the lock ends (the longer of the two when both are locked).
    pub async fn attempt(
        &self,
        address: IpAddr,
        email: &str,
        now: Instant,
    ) -> Result<Attempt, Duration> {
        let address = address_key(address);
        // A malformed email has no account to protect (and is never stored, however long).
        let account = Email::parse(email).ok().map(|e| e.as_str().to_owned());
        let mut counted = Counted::Memory;
        if let Some(redis) = &self.redis {
            match redis.attempt(address, account.as_deref()).await {
                Ok(decided) => {
                    decided?;
                    counted = Counted::Redis;
                }
                Err(err) => tracing::error!(
                    error = %error_chain(&err),
                    "login limits: redis unreachable, counting in this node's memory"
                ),
            }
        }
        if counted == Counted::Memory {
            self.memory.attempt(address, account.as_deref(), now)?;
        }
        Ok(Attempt {
            address,
            account,
            counted,
        })
    }

    /// The password was right: the account's failures are forgotten, and the attempt no
    /// longer counts against the address.
    pub async fn succeeded(&self, attempt: Attempt) {
        self.settle(attempt, true).await;
    }

    /// The password was wrong (or no such account): the attempt stays counted.
    pub fn failed(&self, attempt: Attempt) {
        drop(attempt);
    }

    /// The password could not be checked (the database failed): the attempt does not count.
    pub async fn inconclusive(&self, attempt: Attempt) {
        self.settle(attempt, false).await;
    }

    async fn settle(&self, attempt: Attempt, clear: bool) {
        let account = attempt.account.as_deref();
        match (&self.redis, attempt.counted) {
            (Some(redis), Counted::Redis) => {
                if let Err(err) = redis.settle(attempt.address, account, clear).await {
                    // The attempt stays counted until the window ends: at worst a lock comes early.
                    tracing::error!(
                        error = %error_chain(&err),
                        "login limits: redis unreachable, the attempt stays counted"
                    );
                }
            }
            _ if clear => self.memory.succeeded(attempt.address, account),
            _ => self.memory.inconclusive(attempt.address, account),
        }
    }

    /// The client's address: the TCP peer, or, when the server is configured to trust a
    /// proxy in front of it, the last `X-Forwarded-For` entry — the address that proxy saw.
    /// Earlier entries are whatever the client sent, so they are never used.
    pub fn client_address(&self, request: &HttpRequest) -> IpAddr {
        let peer = request
            .peer_addr()
            .map_or(IpAddr::from([0, 0, 0, 0]), |peer| peer.ip());
        if !self.trust_forwarded_for {
            return peer;
        }
        last_forwarded_for(request).unwrap_or(peer)
    }
}

/// `err` and its sources, for the log.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The last entry of the `X-Forwarded-For` headers, if it is an address (with or without port).
fn last_forwarded_for(request: &HttpRequest) -> Option<IpAddr> {
    let last = request
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .last()?;
    last.parse::<IpAddr>()
        .ok()
        .or_else(|| last.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
}

/// The key an address is counted under: IPv4 as is (IPv4-mapped IPv6 too); IPv6 by its /64,
/// which one client usually holds whole and could otherwise rotate through.
fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests;
