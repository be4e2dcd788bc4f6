//! `/etc/cairn/system.json` (docs/rootfs-layout.md): the system-wide restart
//! policy, the services in config order, the volumes and the data partition.

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
