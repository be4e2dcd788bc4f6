//! What each signal PID 1 listens to asks of it.

use crate::sys::{Shutdown, Signal};

/// How a signal asks the system to stop (busybox's convention), if it does.
pub fn signal_stop(signal: Signal) -> Option<Shutdown> {
    match signal {
        Signal::Child => None,
        Signal::Term | Signal::Int => Some(Shutdown::Reboot),
        Signal::Usr1 => Some(Shutdown::Halt),
        Signal::Usr2 => Some(Shutdown::PowerOff),
    }
}
