//! The `update` section (cairn only): how a device takes new versions of
//! this system. For now, when a new root slot counts as good: every service
//! must have stayed up `good_after` seconds before the init removes the
//! boot counter from the slot's UKI; a slot that never gets there is tried
//! three times, then systemd-boot goes back to the last good one.

use serde::Deserialize;

use super::diag::Location;

/// Seconds every service must stay up when `update.good_after` is not set.
pub const DEFAULT_GOOD_AFTER: u64 = 30;
/// The longest wait that still makes sense (a day).
pub const MAX_GOOD_AFTER: u64 = 86_400;

/// `update:` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Update {
    /// Seconds every service must stay up before a new slot is good.
    pub good_after: Option<u64>,
    #[serde(skip)]
    pub location: Location,
}

impl Update {
    pub fn good_after_secs(&self) -> u64 {
        self.good_after.unwrap_or(DEFAULT_GOOD_AFTER)
    }
}

/// What is wrong with `update.good_after`, if anything.
pub fn good_after_problem(secs: u64) -> Option<String> {
    (secs == 0 || secs > MAX_GOOD_AFTER).then(|| {
        format!(
            "{secs} is not a waiting time the init can use; give the seconds every service must \
             stay up before a new version counts as good, 1 to {MAX_GOOD_AFTER}"
        )
    })
}
