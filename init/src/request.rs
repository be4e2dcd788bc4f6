//! How a container asks the system to stop without sharing the host's PID
//! namespace: it binds [`DIR`] and creates a file named `poweroff`, `reboot`
//! or `halt` in it. The init looks after each onboot container and once a
//! second while it supervises.

use crate::log::log;
use crate::sys::{Console, Files, Shutdown};

pub const DIR: &str = "/run/cairn/request";

const REQUESTS: [(&str, Shutdown); 3] = [
    ("poweroff", Shutdown::PowerOff),
    ("reboot", Shutdown::Reboot),
    ("halt", Shutdown::Halt),
];

/// The stop a container asked for, if any; the request file is removed.
pub fn take(sys: &mut (impl Files + Console)) -> Option<Shutdown> {
    for (name, how) in REQUESTS {
        let path = format!("{DIR}/{name}");
        if sys.exists(&path) {
            if let Err(e) = sys.remove_file(&path) {
                log(sys, &format!("warning: cannot remove {path}: {e}"));
            }
            log(sys, &format!("a container asked for {name} ({path})"));
            return Some(how);
        }
    }
    None
}
