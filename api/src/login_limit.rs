//! Failed-login limiting: after too many failed logins for one account, or from one client
//! address, within a window, further attempts are refused (429 with Retry-After) before the
//! password is checked, until the window has passed. It slows down password guessing against
//! one account (the per-account limit) and spraying many accounts from one machine (the
//! per-address limit), and keeps bcrypt from being used to burn our CPU.
//!
//! The tracker lives in memory, one per node: behind a load balancer each node counts on its
//! own, so the effective limit is the configured one times the number of nodes. That is a
//! deliberate trade: no database write on every failed login, and nothing to clean up.
//!
//! Every attempt let through counts as a failure until it is shown to be otherwise: two
//! guesses sent at the same moment cannot both slip past the last free slot while bcrypt runs.
//! Time is passed in (`now`), so the tests step through windows without sleeping.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use infrastructure::accounts::Email;
use infrastructure::config::LoginLimitSettings;

/// How many accounts (and, separately, addresses) are tracked at most: beyond it, expired
/// windows are dropped, then the oldest one. Bounds memory whatever a client sends.
const MAX_TRACKED: usize = 100_000;
/// How often expired windows are dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Failures counted since `started`; over after the limits' window.
#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// One kind of key (accounts or addresses) and its limit.
#[derive(Debug)]
struct Counts<K> {
    windows: HashMap<K, Window>,
    max_failures: u32,
}

impl<K: Hash + Eq + Clone> Counts<K> {
    fn new(max_failures: u32) -> Self {
        Self {
            windows: HashMap::new(),
            max_failures,
        }
    }

    /// How long `key` stays locked, if it is.
    fn locked_for(&self, key: &K, now: Instant, window: Duration) -> Option<Duration> {
        let counted = self.windows.get(key)?;
        let ends = counted.started + window;
        (counted.failures >= self.max_failures && now < ends).then(|| ends - now)
    }

    /// Counts one more failure for `key`, opening a new window if its last one is over.
    fn count(&mut self, key: K, now: Instant, window: Duration) {
        if !self.windows.contains_key(&key) && self.windows.len() >= MAX_TRACKED {
            self.prune(now, window);
            if self.windows.len() >= MAX_TRACKED {
                self.evict_oldest();
            }
        }
        let counted = self.windows.entry(key).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now >= counted.started + window {
            *counted = Window {
                started: now,
                failures: 0,
            };
        }
        counted.failures = counted.failures.saturating_add(1);
    }

    /// Takes back one failure counted for `key`.
    fn refund(&mut self, key: &K) {
        if let Some(counted) = self.windows.get_mut(key) {
            counted.failures = counted.failures.saturating_sub(1);
        }
    }

    fn clear(&mut self, key: &K) {
        self.windows.remove(key);
    }

    fn prune(&mut self, now: Instant, window: Duration) {
        self.windows
            .retain(|_, counted| now < counted.started + window);
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .windows
            .iter()
            .min_by_key(|(_, counted)| counted.started)
            .map(|(key, _)| key.clone());
        if let Some(key) = oldest {
            self.windows.remove(&key);
        }
    }
}

#[derive(Debug)]
struct State {
    accounts: Counts<String>,
    addresses: Counts<IpAddr>,
    next_prune: Option<Instant>,
}

/// A login attempt the limiter let through. Until [`LoginLimiter::succeeded`] or
/// [`LoginLimiter::inconclusive`] says otherwise it counts as a failure, so dropping it is
/// failing it.
#[derive(Debug)]
#[must_use = "an attempt counts as failed unless it is reported as succeeded or inconclusive"]
pub struct Attempt {
    address: IpAddr,
    account: Option<String>,
}

/// Counts failed logins per account and per client address; see the module documentation.
#[derive(Debug)]
pub struct LoginLimiter {
    window: Duration,
    trust_forwarded_for: bool,
    state: Mutex<State>,
}

impl LoginLimiter {
    /// A limiter with these limits; `trust_forwarded_for` takes the client's address from
    /// `X-Forwarded-For` (only behind a proxy that sets it).
    pub fn new(limits: LoginLimitSettings, trust_forwarded_for: bool) -> Self {
        Self {
            window: limits.window,
            trust_forwarded_for,
            state: Mutex::new(State {
                accounts: Counts::new(limits.max_failures_per_account),
                addresses: Counts::new(limits.max_failures_per_address),
                next_prune: None,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The counts stay consistent whatever panicked while holding the lock.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets a login for `email` from `address` be tried, counting it as a failure for now;
    /// refuses it while the account or the address is locked.
    ///
    /// # Errors
    /// How long until the lock ends (the longer of the two when both are locked).
    pub fn attempt(&self, address: IpAddr, email: &str, now: Instant) -> Result<Attempt, Duration> {
        let address = address_key(address);
        // A malformed email has no account to protect (and is never stored, however long).
        let account = Email::parse(email).ok().map(|e| e.as_str().to_owned());
        let mut state = self.state();
        if state.next_prune.is_none_or(|at| now >= at) {
            state.accounts.prune(now, self.window);
            state.addresses.prune(now, self.window);
            state.next_prune = Some(now + PRUNE_EVERY);
        }
        let locked = [
            account
                .as_ref()
                .and_then(|account| state.accounts.locked_for(account, now, self.window)),
            state.addresses.locked_for(&address, now, self.window),
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some(retry_after) = locked {
            return Err(retry_after);
        }
        if let Some(account) = &account {
            state.accounts.count(account.clone(), now, self.window);
        }
        state.addresses.count(address, now, self.window);
        Ok(Attempt { address, account })
    }

    /// The password was right: the account's failures are forgotten, and the attempt no
    /// longer counts against the address.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut state = self.state();
        if let Some(account) = &attempt.account {
            state.accounts.clear(account);
        }
        state.addresses.refund(&attempt.address);
    }

    /// The password was wrong (or no such account): the attempt stays counted.
    pub fn failed(&self, attempt: Attempt) {
        drop(attempt);
    }

    /// The password could not be checked (the database failed): the attempt does not count.
    pub fn inconclusive(&self, attempt: Attempt) {
        let mut state = self.state();
        if let Some(account) = &attempt.account {
            state.accounts.refund(account);
        }
        state.addresses.refund(&attempt.address);
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
