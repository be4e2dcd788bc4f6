//! Onboot and onshutdown containers: each bundle of a directory, in lexical
//! order, run to completion with its output on the console. As LinuxKit
//! does: `runc create` (the process exists, stopped before exec), the
//! runtime steps that need its pid, `runc start`, then wait for the process,
//! which PID 1 inherits when `runc create` exits.

use std::io;

use crate::log::log;
use crate::request;
use crate::services::prepare::{self, PrepareError};
use crate::sys::{Shutdown, Status, Sys};

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

/// Where `runc create` writes the pid of each container's process.
pub const PID_DIR: &str = "/run/cairn/runc";

/// Why a container did not run to completion; the console line is
/// `onboot NAME failed: ` and this.
#[derive(Debug, thiserror::Error)]
pub enum OneshotError {
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    #[error("cannot run runc {step}: {source}; is runc in the image's init?")]
    Runc {
        step: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("runc {step} exited with status {status} (its messages are above)")]
    RuncStatus { step: &'static str, status: Status },
    #[error("cannot read the pid runc create wrote to {path}: {source}")]
    PidFile {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot wait for its process {pid}: {source}")]
    Wait {
        pid: i32,
        #[source]
        source: io::Error,
    },
}

/// Runs every container of `phase`; a failing one is reported and the rest
/// still run. Returns the stop a container asked for through
/// [`request::DIR`]; the containers after it do not run then.
pub fn run_all(sys: &mut impl Sys, phase: Phase) -> Option<Shutdown> {
    let Ok(names) = sys.list_dir(phase.dir) else {
        return None;
    };
    if let Err(e) = sys.mkdir(PID_DIR) {
        log(sys, &format!("warning: cannot create {PID_DIR}: {e}"));
    }
    for name in names {
        let bundle = format!("{}/{name}", phase.dir);
        let who = format!("{} {name}", phase.name);
        // The container id: unique while it runs, readable in `runc list`.
        let id = format!("{}-{name}", phase.name);
        match run_one(sys, &who, &name, &bundle, &id) {
            Ok(Status::Code(0)) => log(sys, &format!("{who} exited with status 0")),
            Ok(status) => log(sys, &format!("{who} failed: exited with status {status}")),
            Err(e) => log(sys, &format!("{who} failed: {e}")),
        }
        if phase.name == ONBOOT.name
            && let Some(how) = request::take(sys)
        {
            return Some(how);
        }
    }
    None
}

/// Prepares, creates, starts and waits for one container; returns how its
/// process ended.
fn run_one(
    sys: &mut impl Sys,
    who: &str,
    name: &str,
    bundle: &str,
    id: &str,
) -> Result<Status, OneshotError> {
    let runtime = prepare::load(sys, bundle)?;
    prepare::filesystem(sys, who, name, bundle, &runtime)?;
    log(sys, &format!("{who} starting"));
    let pid_file = format!("{PID_DIR}/{id}.pid");
    let create = [
        "runc",
        "create",
        "--bundle",
        bundle,
        "--pid-file",
        &pid_file,
        id,
    ];
    if let Err(e) = runc(sys, "create", &create) {
        discard(sys, id, None);
        return Err(e);
    }
    let pid = match read_pid(sys, &pid_file) {
        Ok(pid) => pid,
        Err(e) => {
            discard(sys, id, None);
            return Err(e);
        }
    };
    let _ = sys.remove_file(&pid_file);
    let prepared = u32::try_from(pid)
        .map_err(|_| OneshotError::PidFile {
            path: pid_file.clone(),
            source: io::ErrorKind::InvalidData.into(),
        })
        .and_then(|p| Ok(prepare::process(sys, who, p, &runtime)?))
        .and_then(|()| runc(sys, "start", &["runc", "start", id]));
    if let Err(e) = prepared {
        discard(sys, id, Some(pid));
        return Err(e);
    }
    let status = sys
        .wait_pid(pid)
        .map_err(|source| OneshotError::Wait { pid, source });
    // runc keeps the stopped container's state (and its cgroup) until deleted.
    if let Err(e) = runc(sys, "delete", &["runc", "delete", id]) {
        log(sys, &format!("warning: {who}: {e}"));
    }
    status
}

fn runc(sys: &mut impl Sys, step: &'static str, argv: &[&str]) -> Result<(), OneshotError> {
    match sys.run(argv) {
        Ok(Status::Code(0)) => Ok(()),
        Ok(status) => Err(OneshotError::RuncStatus { step, status }),
        Err(source) => Err(OneshotError::Runc { step, source }),
    }
}

fn read_pid(sys: &mut impl Sys, path: &str) -> Result<i32, OneshotError> {
    let text = sys
        .read_file(path)
        .map_err(|source| OneshotError::PidFile {
            path: path.to_string(),
            source,
        })?;
    text.trim()
        .parse::<i32>()
        .ok()
        .filter(|p| *p > 1)
        .ok_or_else(|| OneshotError::PidFile {
            path: path.to_string(),
            source: io::Error::new(io::ErrorKind::InvalidData, format!("{text:?} is not a pid")),
        })
}

/// Kills and deletes a container that will not run, and reaps its process.
fn discard(sys: &mut impl Sys, id: &str, pid: Option<i32>) {
    let _ = sys.run(&["runc", "delete", "--force", id]);
    if let Some(pid) = pid {
        let _ = sys.wait_pid(pid);
    }
}
