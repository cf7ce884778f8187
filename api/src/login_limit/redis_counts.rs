//! Failed logins counted in Redis, so every node behind a load balancer sees the same counts.
//! Each account and each address has one counter that expires with the window, opened by its
//! first failure (`INCR` then `PEXPIRE`), so Redis forgets it on its own. Checking and counting
//! run in one Lua script (`attempt.lua`), atomic like the in-memory store's mutex: two nodes
//! cannot both hand out the last free slot.
//!
//! Keys are `<prefix>:account:<SHA-256 of the normalised email>` (no address book in Redis)
//! and `<prefix>:address:<address>` (IPv6: `<its /64>/64`); the prefix is
//! `<REDIS_KEY_PREFIX>:login` (`callassist:login` by default).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use infrastructure::config::LoginLimitSettings;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

/// What the login counters' keys add to `REDIS_KEY_PREFIX`.
pub(super) const LOGIN_KEYS: &str = "login";
/// How long connecting, or one command, may take before the login goes on without Redis.
const TIMEOUT: Duration = Duration::from_millis(500);
/// After a failed connection, how long logins use memory before connecting is tried again,
/// so an outage does not cost every login a connection attempt.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Why Redis did not count or settle an attempt.
#[derive(Debug, thiserror::Error)]
pub enum RedisCountsError {
    /// Connecting failed, or a command did.
    #[error("redis failed")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer within the timeout.
    #[error("redis did not answer in time")]
    Timeout,
    /// A connection failed a moment ago; not tried again yet.
    #[error("redis was unreachable a moment ago")]
    RecentlyUnreachable,
}

/// The connection, once made; or when making it last failed.
enum Connection {
    None,
    Open(ConnectionManager),
    FailedAt(Instant),
}

/// Failures per account and per address, in Redis.
pub(super) struct RedisCounts {
    client: Client,
    prefix: String,
    limits: LoginLimitSettings,
    connection: Mutex<Connection>,
    attempt: Script,
    settle: Script,
}

impl std::fmt::Debug for RedisCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client holds the URL, which may hold a password.
        f.debug_struct("RedisCounts")
            .field("prefix", &self.prefix)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl RedisCounts {
    /// Counts under `prefix` in the Redis at `url`; connects at the first login.
    ///
    /// # Errors
    /// The URL is not one the redis client can use.
    pub(super) fn new(
        url: &str,
        prefix: &str,
        limits: LoginLimitSettings,
    ) -> Result<Self, redis::RedisError> {
        Ok(Self {
            client: Client::open(url)?,
            prefix: prefix.to_owned(),
            limits,
            connection: Mutex::new(Connection::None),
            attempt: Script::new(include_str!("attempt.lua")),
            settle: Script::new(include_str!("settle.lua")),
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, RedisCountsError> {
        let mut slot = self.connection.lock().await;
        match &*slot {
            Connection::Open(connection) => return Ok(connection.clone()),
            Connection::FailedAt(at) if at.elapsed() < RECONNECT_AFTER => {
                return Err(RedisCountsError::RecentlyUnreachable)
            }
            Connection::FailedAt(_) | Connection::None => {}
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(TIMEOUT)
            .set_response_timeout(TIMEOUT)
            .set_number_of_retries(0);
        let connected = tokio::time::timeout(
            TIMEOUT * 2,
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await
        .map_err(|_| RedisCountsError::Timeout)
        .and_then(|connected| connected.map_err(RedisCountsError::from));
        match connected {
            Ok(connection) => {
                *slot = Connection::Open(connection.clone());
                Ok(connection)
            }
            Err(err) => {
                *slot = Connection::FailedAt(Instant::now());
                Err(err)
            }
        }
    }

    fn keys(&self, address: IpAddr, account: Option<&str>) -> Vec<String> {
        let address = match address {
            IpAddr::V4(v4) => format!("{}:address:{v4}", self.prefix),
            IpAddr::V6(v6) => format!("{}:address:{v6}/64", self.prefix),
        };
        let account =
            account.map(|account| format!("{}:account:{:x}", self.prefix, Sha256::digest(account)));
        std::iter::once(address).chain(account).collect()
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        keys: Vec<String>,
        args: &[String],
    ) -> Result<T, RedisCountsError> {
        let mut connection = self.connection().await?;
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        for arg in args {
            invocation.arg(arg);
        }
        tokio::time::timeout(TIMEOUT, invocation.invoke_async(&mut connection))
            .await
            .map_err(|_| RedisCountsError::Timeout)?
            .map_err(RedisCountsError::from)
    }

    /// Counts a failure for `account` (if any) and `address`, unless either is locked: then
    /// how long until the longer lock ends.
    ///
    /// # Errors
    /// Redis could not be asked.
    pub(super) async fn attempt(
        &self,
        address: IpAddr,
        account: Option<&str>,
    ) -> Result<Result<(), Duration>, RedisCountsError> {
        let window_ms = u64::try_from(self.limits.window.as_millis()).unwrap_or(u64::MAX);
        let args = [
            window_ms.max(1).to_string(),
            self.limits.max_failures_per_address.to_string(),
            self.limits.max_failures_per_account.to_string(),
        ];
        let wait_ms: u64 = self
            .run(&self.attempt, self.keys(address, account), &args)
            .await?;
        Ok(match wait_ms {
            0 => Ok(()),
            ms => Err(Duration::from_millis(ms)),
        })
    }

    /// Forgets the account's failures (`clear`) or takes the attempt back from it, and takes
    /// it back from the address.
    ///
    /// # Errors
    /// Redis could not be asked.
    pub(super) async fn settle(
        &self,
        address: IpAddr,
        account: Option<&str>,
        clear: bool,
    ) -> Result<(), RedisCountsError> {
        let mode = if clear { "clear" } else { "refund" };
        self.run::<()>(
            &self.settle,
            self.keys(address, account),
            &[mode.to_owned()],
        )
        .await
    }
}

#[cfg(test)]
mod tests;
