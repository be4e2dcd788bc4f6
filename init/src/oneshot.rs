//! Onboot and onshutdown containers: each bundle of a directory, in lexical
//! order, run to completion with `runc run`, its output on the console.

use crate::boot::log;
use crate::sys::{Shutdown, Status, Sys};
use crate::{request, runtime};

/// Which containers run once, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phase {
    pub dir: &'static str,
    pub name: &'static str,
}

pub const ONBOOT: Phase = Phase {
    dir: "/containers/onboot",
    name: "onboot",
};

pub const ONSHUTDOWN: Phase = Phase {
    dir: "/containers/onshutdown",
    name: "onshutdown",
};

/// Runs every container of `phase`; a failing one is reported and the rest
/// still run. Returns the stop a container asked for through
/// [`request::DIR`]; the containers after it do not run then.
pub fn run_all(sys: &mut impl Sys, phase: Phase) -> Option<Shutdown> {
    let Ok(names) = sys.list_dir(phase.dir) else {
        return None;
    };
    for name in names {
        let bundle = format!("{}/{name}", phase.dir);
        runtime::prepare(sys, &name, &bundle);
        log(sys, &format!("{} {name} starting", phase.name));
        // The container id: unique while it runs, readable in `runc list`.
        let id = format!("{}-{name}", phase.name);
        match sys.run(&["runc", "run", "--bundle", &bundle, &id]) {
            Ok(Status::Code(0)) => log(sys, &format!("{} {name} exited with status 0", phase.name)),
            Ok(status) => log(
                sys,
                &format!("{} {name} failed: exited with status {status}", phase.name),
            ),
            Err(e) => log(
                sys,
                &format!("{} {name} failed: cannot run runc: {e}", phase.name),
            ),
        }
        if phase.name == ONBOOT.name
            && let Some(how) = request::take(sys)
        {
            return Some(how);
        }
    }
    None
}
