//! The init's console log: every line stamped with the time since boot, as
//! the kernel stamps its own, so the two read as one timeline.

use crate::sys::Console;

/// Prints `[  1.234] cairn-init: MESSAGE` with the time since boot.
pub fn log(sys: &mut impl Console, message: &str) {
    let t = sys.uptime();
    let line = format!(
        "[{:>3}.{:03}] cairn-init: {message}",
        t.as_secs(),
        t.subsec_millis()
    );
    sys.console(&line);
}
