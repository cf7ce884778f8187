//! Failed logins counted in this node's memory: the store without `REDIS_URL`, and the one a
//! node falls back to while Redis cannot be reached. Locking and counting happen under one
//! mutex, so two attempts at the same moment cannot both take the last free slot.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use infrastructure::config::LoginLimitSettings;

/// How many accounts (and, separately, addresses) are tracked at most: beyond it, expired
/// windows are dropped, then the oldest one. Bounds memory whatever a client sends.
pub(super) const MAX_TRACKED: usize = 100_000;
/// How often expired windows are dropped.
pub(super) const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Failures counted since `started`; over after the limits' window.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    started: Instant,
    failures: u32,
}

/// One kind of key (accounts or addresses) and its limit.
#[derive(Debug)]
pub(super) struct Counts<K> {
    pub(super) windows: HashMap<K, Window>,
    max_failures: u32,
}

impl<K: Hash + Eq + Clone> Counts<K> {
    pub(super) fn new(max_failures: u32) -> Self {
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
    pub(super) fn count(&mut self, key: K, now: Instant, window: Duration) {
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
pub(super) struct State {
    pub(super) accounts: Counts<String>,
    pub(super) addresses: Counts<IpAddr>,
    next_prune: Option<Instant>,
}

/// Failures per account and per address, in this node's memory.
#[derive(Debug)]
pub(super) struct MemoryCounts {
    window: Duration,
    state: Mutex<State>,
}

impl MemoryCounts {
    pub(super) fn new(limits: &LoginLimitSettings) -> Self {
        Self {
            window: limits.window,
            state: Mutex::new(State {
                accounts: Counts::new(limits.max_failures_per_account),
                addresses: Counts::new(limits.max_failures_per_address),
                next_prune: None,
            }),
        }
    }

    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        // The counts stay consistent whatever panicked while holding the lock.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a failure for `account` (if any) and `address`, unless either is locked: then
    /// how long until the longer lock ends.
    pub(super) fn attempt(
        &self,
        address: IpAddr,
        account: Option<&str>,
        now: Instant,
    ) -> Result<(), Duration> {
        let mut state = self.state();
        if state.next_prune.is_none_or(|at| now >= at) {
            state.accounts.prune(now, self.window);
            state.addresses.prune(now, self.window);
            state.next_prune = Some(now + PRUNE_EVERY);
        }
        let locked = [
            account.and_then(|account| {
                state
                    .accounts
                    .locked_for(&account.to_owned(), now, self.window)
            }),
            state.addresses.locked_for(&address, now, self.window),
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some(retry_after) = locked {
            return Err(retry_after);
        }
        if let Some(account) = account {
            state.accounts.count(account.to_owned(), now, self.window);
        }
        state.addresses.count(address, now, self.window);
        Ok(())
    }

    /// Forgets the account's failures and takes the attempt back from the address.
    pub(super) fn succeeded(&self, address: IpAddr, account: Option<&str>) {
        let mut state = self.state();
        if let Some(account) = account {
            state.accounts.clear(&account.to_owned());
        }
        state.addresses.refund(&address);
    }

    /// Takes the attempt back from both the account and the address.
    pub(super) fn inconclusive(&self, address: IpAddr, account: Option<&str>) {
        let mut state = self.state();
        if let Some(account) = account {
            state.accounts.refund(&account.to_owned());
        }
        state.addresses.refund(&address);
    }
}
