//! A change counter that lets test code wait, without polling, until a recorded log satisfies
//! a predicate (shared by both fakes).

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// Bumped by a fake whenever its record changes.
#[derive(Debug)]
pub(crate) struct Changes(watch::Sender<u64>);

impl Default for Changes {
    fn default() -> Self {
        Self(watch::channel(0).0)
    }
}

impl Changes {
    /// Wakes every waiter.
    pub(crate) fn bump(&self) {
        self.0
            .send_modify(|version| *version = version.wrapping_add(1));
    }

    /// Re-checks `check` after each change until it holds (true) or `timeout` passes (false).
    pub(crate) async fn wait_until(
        &self,
        mut check: impl FnMut() -> bool,
        timeout: Duration,
    ) -> bool {
        let mut changes = self.0.subscribe();
        let deadline = Instant::now() + timeout;
        loop {
            changes.borrow_and_update();
            if check() {
                return true;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return check(),
            }
        }
    }
}
