//! `/etc/cairn/system.json` (docs/rootfs-layout.md): the system-wide restart
//! policy, the services in config order, the volumes, the data partition
//! and how long services must stay up for the boot to count as good.

use std::time::Duration;

use serde::Deserialize;

use crate::log::log;
use crate::services::restart::PolicyJson;
use crate::sys::{Console, Files};

pub const PATH: &str = "/etc/cairn/system.json";

#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
pub struct System {
    #[serde(default)]
    pub restart: PolicyJson,
    /// None: every bundle in /containers/services, in lexical order.
    pub services: Option<Vec<String>>,
    /// Mounted before the first container, in this order.
    #[serde(default)]
    pub volumes: Vec<crate::services::volumes::Volume>,
    /// The persistent data partition; None: nothing is mounted from it.
    #[serde(default)]
    pub data: Option<Data>,
    /// How long every service must stay up before a boot the loader counts
    /// is marked good (`bless/`); None: [`GOOD_AFTER_SECS`].
    #[serde(default)]
    pub good_after_secs: Option<u64>,
}

/// The default of `good_after_secs`: long enough for a service that fails
/// at once to have failed and been restarted.
pub const GOOD_AFTER_SECS: u64 = 30;

impl System {
    pub fn good_after(&self) -> Duration {
        Duration::from_secs(self.good_after_secs.unwrap_or(GOOD_AFTER_SECS))
    }
}

/// system.json's `data`: where the disk's data partition is mounted.
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
pub struct Data {
    /// An absolute path that exists in the root image (`/var/lib`).
    pub mount: String,
}

/// The file, or the defaults when it is missing or broken (said on the console).
pub fn load(sys: &mut (impl Files + Console)) -> System {
    let Ok(text) = sys.read_file(PATH) else {
        return System::default();
    };
    match serde_json::from_str(&text) {
        Ok(system) => system,
        Err(e) => {
            log(
                sys,
                &format!("warning: {PATH} is not valid ({e}); using the defaults"),
            );
            System::default()
        }
    }
}
