//! Whether the services are up, for marking the boot good (`bless/`).

use std::time::Duration;

use super::{Services, State};

impl Services {
    /// Since when every service has been up without a break: each running
    /// since its last start, or finished with status 0 and not restarted
    /// (its exit counts). None while any waits for a restart, failed for
    /// good or was never created, while containerd is gone, or before
    /// `start_all`. With no services at all: since `start_all`.
    pub fn all_up_since(&self) -> Option<Duration> {
        let started = self.started?;
        if self.containerd.is_none() && !self.list.is_empty() {
            return None;
        }
        self.list
            .iter()
            .try_fold(started, |latest, s| match s.state {
                State::Running { since } | State::Finished { at: since } => Some(latest.max(since)),
                State::Absent | State::Waiting { .. } | State::Done => None,
            })
    }
}
