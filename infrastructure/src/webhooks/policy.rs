//! The retry schedule of a delivery that keeps failing.

use std::time::Duration;

/// When a delivery that keeps failing is tried again, and when it is given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The pause after each failed try: after the first, the second, …; once they are used
    /// up, the delivery is `failed`. `delays.len() + 1` tries in all.
    pub delays: Vec<Duration>,
}

impl Default for RetryPolicy {
    /// Standard Webhooks' suggested schedule: at once, then after 5 seconds, 5 minutes,
    /// 30 minutes, 2 hours, 5 hours, 10 hours and 10 hours: 8 tries over about 27 hours.
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        Self {
            delays: vec![
                Duration::from_secs(5),
                minutes(5),
                minutes(30),
                minutes(2 * 60),
                minutes(5 * 60),
                minutes(10 * 60),
                minutes(10 * 60),
            ],
        }
    }
}

impl RetryPolicy {
    /// The pause after `failed` failed tries (1 or more), or `None`: give up.
    pub fn delay(&self, failed: u32) -> Option<Duration> {
        let index = usize::try_from(failed.checked_sub(1)?).ok()?;
        self.delays.get(index).copied()
    }

    /// How many tries a delivery gets.
    pub fn tries(&self) -> usize {
        self.delays.len() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_follow_the_standard_webhooks_schedule_for_about_a_day() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.tries(), 8);
        assert_eq!(policy.delay(1), Some(Duration::from_secs(5)));
        assert_eq!(policy.delay(2), Some(Duration::from_secs(300)));
        assert_eq!(policy.delay(7), Some(Duration::from_secs(36_000)));
        assert_eq!(policy.delay(8), None);
        assert_eq!(policy.delay(0), None);
        let total: Duration = policy.delays.iter().sum();
        assert!(total > Duration::from_secs(24 * 3600) && total < Duration::from_secs(30 * 3600));
    }

    #[test]
    fn it_should_give_up_at_once_without_delays() {
        let policy = RetryPolicy { delays: Vec::new() };
        assert_eq!(policy.tries(), 1);
        assert_eq!(policy.delay(1), None);
    }
}
