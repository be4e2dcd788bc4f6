//! The restart policy of a service: whether it restarts when it exits, and
//! after how long. The delay starts at `initial`, doubles after each restart
//! up to `max`, and starts over when the service had run for [`RESET_AFTER`].

use std::time::Duration;

use serde::Deserialize;

/// A service that ran this long before exiting is restarted after the
/// initial delay again.
pub const RESET_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    OnFailure,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub when: When,
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            when: When::Always,
            initial: Duration::from_secs(1),
            max: Duration::from_secs(30),
        }
    }
}

/// `restart` in runtime.json and system.json; missing fields keep the
/// defaults (or the system-wide values).
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyJson {
    pub policy: Option<String>,
    pub initial_delay_ms: Option<u64>,
    pub max_delay_ms: Option<u64>,
}

impl Policy {
    /// This policy with the fields `json` sets; an unknown policy name is
    /// returned as the error and leaves `when` unchanged.
    pub fn with(self, json: &PolicyJson) -> (Policy, Option<String>) {
        let mut p = self;
        let mut unknown = None;
        match json.policy.as_deref() {
            None => {}
            Some("always") => p.when = When::Always,
            Some("on-failure") => p.when = When::OnFailure,
            Some("never" | "no") => p.when = When::Never,
            Some(other) => unknown = Some(other.to_string()),
        }
        if let Some(ms) = json.initial_delay_ms {
            p.initial = Duration::from_millis(ms);
        }
        if let Some(ms) = json.max_delay_ms {
            p.max = Duration::from_millis(ms);
        }
        p.max = p.max.max(p.initial);
        (p, unknown)
    }

    /// Whether a service that exited with `status` is started again.
    pub fn restarts(&self, status: u32) -> bool {
        match self.when {
            When::Always => true,
            When::OnFailure => status != 0,
            When::Never => false,
        }
    }
}

/// The next delay of one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    next: Option<Duration>,
}

impl Backoff {
    pub fn new() -> Backoff {
        Backoff { next: None }
    }

    /// The delay before restarting a service that ran for `ran_for`.
    pub fn delay(&mut self, policy: &Policy, ran_for: Duration) -> Duration {
        let delay = match self.next {
            Some(next) if ran_for < RESET_AFTER => next,
            _ => policy.initial,
        };
        self.next = Some(delay.saturating_mul(2).min(policy.max));
        delay
    }
}
