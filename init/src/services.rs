//! Services: containerd started by the init, each service created from its
//! prepared bundle through containerd's API and restarted per its policy.

use std::time::Duration;

use crate::boot::{log, signal_stop};
use crate::restart::{Backoff, Policy};
use crate::runtime;
use crate::sys::{Exited, Shutdown, Sys};
use crate::system::System;

pub const DIR: &str = "/containers/services";
pub const CONTAINERD: &str = "/usr/bin/containerd";
pub const SOCKET: &str = "/run/containerd/containerd.sock";
pub const CONFIG: &str = "/run/cairn/containerd.toml";
pub const CONTAINERD_LOG: &str = "/var/log/containerd.log";

/// containerd's configuration when the image brings none: state in RAM, no
/// CRI (nothing here speaks Kubernetes).
pub const CONFIG_TOML: &str = "version = 2\n\
root = \"/var/lib/containerd\"\n\
state = \"/run/containerd\"\n\
disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
\n\
[grpc]\n\
  address = \"/run/containerd/containerd.sock\"\n";

/// How long containerd gets to answer on its socket.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long services get between SIGTERM and SIGKILL at shutdown.
pub const STOP_GRACE: Duration = Duration::from_secs(10);
/// How often a running service is checked.
pub const TICK: Duration = Duration::from_secs(1);

const SIGTERM: i32 = 15;
const SIGKILL: i32 = 9;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not created (containerd is not running) or failed to be created.
    Absent,
    Running {
        since: Duration,
    },
    Waiting {
        until: Duration,
    },
    /// Exited and its policy says not to restart.
    Done,
}

#[derive(Debug)]
struct Service {
    name: String,
    bundle: String,
    policy: Policy,
    backoff: Backoff,
    state: State,
}

/// Every service and containerd.
#[derive(Debug, Default)]
pub struct Services {
    list: Vec<Service>,
    containerd: Option<i32>,
    default_policy: Policy,
    /// A stop signal that arrived while waiting on containerd.
    pub pending: Option<Shutdown>,
}

impl Services {
    /// The services of `system.json`, or every bundle in [`DIR`].
    pub fn load(sys: &mut impl Sys, system: &System) -> Services {
        let (default_policy, unknown) = Policy::default().with(&system.restart);
        if let Some(p) = unknown {
            log(
                sys,
                &format!("warning: unknown restart policy {p:?} in system.json; using \"always\""),
            );
        }
        let names = match &system.services {
            Some(names) => names.clone(),
            None => sys.list_dir(DIR).unwrap_or_default(),
        };
        let list = names
            .into_iter()
            .map(|name| Service {
                bundle: format!("{DIR}/{name}"),
                name,
                policy: default_policy,
                backoff: Backoff::new(),
                state: State::Absent,
            })
            .collect();
        Services {
            list,
            containerd: None,
            default_policy,
            pending: None,
        }
    }

    /// Starts containerd, waits until it answers, and starts every service.
    pub fn start_all(&mut self, sys: &mut impl Sys) {
        if self.list.is_empty() {
            log(sys, "no services");
            return;
        }
        if !self.start_containerd(sys) {
            return;
        }
        for i in 0..self.list.len() {
            let (name, bundle) = (self.list[i].name.clone(), self.list[i].bundle.clone());
            let runtime = runtime::prepare(sys, &name, &bundle);
            if let Some(json) = &runtime.restart {
                let (policy, unknown) = self.default_policy.with(json);
                if let Some(p) = unknown {
                    log(
                        sys,
                        &format!(
                            "warning: {name}: unknown restart policy {p:?}; using the default"
                        ),
                    );
                }
                self.list[i].policy = policy;
            }
            if let Err(e) = sys.service_create(&name, &bundle) {
                log(
                    sys,
                    &format!("service {name} failed: cannot create its container: {e}"),
                );
                continue;
            }
            self.start(sys, i);
        }
        log(sys, "all services started");
    }

    fn start_containerd(&mut self, sys: &mut impl Sys) -> bool {
        // Always cairn's own: Debian's /etc/containerd/config.toml enables
        // the CRI plugin, which only slows the start here.
        let config = CONFIG;
        if let Err(e) = sys
            .mkdir("/run/cairn")
            .and_then(|()| sys.write_file(CONFIG, CONFIG_TOML))
        {
            log(sys, &format!("warning: cannot write {CONFIG}: {e}"));
        }
        let _ = sys.mkdir("/var/log");
        let pid = match sys.spawn(&[CONTAINERD, "--config", config], CONTAINERD_LOG) {
            Ok(pid) => pid,
            Err(e) => {
                log(
                    sys,
                    &format!("cannot start {CONTAINERD}: {e}; no service will run"),
                );
                return false;
            }
        };
        self.containerd = Some(pid);
        log(
            sys,
            &format!("containerd started (pid {pid}, config {config}, log {CONTAINERD_LOG})"),
        );
        let end = sys.uptime() + READY_TIMEOUT;
        loop {
            match sys.containerd_ready(SOCKET) {
                Ok(()) => {
                    log(sys, "containerd is ready");
                    return true;
                }
                Err(e) if sys.uptime() >= end => {
                    log(
                        sys,
                        &format!(
                            "containerd did not answer on {SOCKET} within {}s ({e}); no service will run; see {CONTAINERD_LOG}",
                            READY_TIMEOUT.as_secs()
                        ),
                    );
                    return false;
                }
                Err(_) => {}
            }
            // A signal (a child exiting) ends the wait early; reaping is
            // done by the supervisor later.
            self.pause(sys, Duration::from_millis(100));
            if self.containerd.is_none() {
                return false;
            }
            while let Some(exited) = sys.reap() {
                if self.reaped(sys, &exited) {
                    return false;
                }
            }
        }
    }

    fn start(&mut self, sys: &mut impl Sys, i: usize) {
        let now = sys.uptime();
        let name = self.list[i].name.clone();
        match sys.service_start(&name) {
            Ok(pid) => {
                log(sys, &format!("service {name} started (pid {pid})"));
                self.list[i].state = State::Running { since: now };
            }
            Err(e) => {
                let s = &mut self.list[i];
                let delay = s.backoff.delay(&s.policy, Duration::ZERO);
                s.state = State::Waiting { until: now + delay };
                log(
                    sys,
                    &format!(
                        "service {name} failed to start: {e}; trying again in {}",
                        secs(delay)
                    ),
                );
            }
        }
    }

    /// Whether `exited` was containerd (then it is logged here).
    pub fn reaped(&mut self, sys: &mut impl Sys, exited: &Exited) -> bool {
        if self.containerd != Some(exited.pid) {
            return false;
        }
        self.containerd = None;
        log(
            sys,
            &format!(
                "containerd exited ({:?}); services are no longer supervised; see {CONTAINERD_LOG}",
                exited.code
            ),
        );
        true
    }

    /// How long the supervisor may sleep.
    pub fn next_wakeup(&self, now: Duration) -> Duration {
        self.list
            .iter()
            .filter_map(|s| match s.state {
                State::Waiting { until } => Some(until.saturating_sub(now)),
                _ => None,
            })
            .fold(TICK, Duration::min)
    }

    /// Notices services that exited and restarts those that are due.
    pub fn tick(&mut self, sys: &mut impl Sys) {
        if self.containerd.is_none() {
            return;
        }
        if self
            .list
            .iter()
            .any(|s| matches!(s.state, State::Running { .. }))
        {
            match sys.service_tasks() {
                Ok(tasks) => {
                    for i in 0..self.list.len() {
                        let alive = tasks.iter().any(|t| t.name == self.list[i].name && t.alive);
                        if !alive && let State::Running { since } = self.list[i].state {
                            self.exited(sys, i, since);
                        }
                    }
                }
                Err(e) => log(sys, &format!("warning: cannot list containerd tasks: {e}")),
            }
        }
        let now = sys.uptime();
        for i in 0..self.list.len() {
            if let State::Waiting { until } = self.list[i].state
                && until <= now
            {
                self.start(sys, i);
            }
        }
    }

    fn exited(&mut self, sys: &mut impl Sys, i: usize, since: Duration) {
        let now = sys.uptime();
        let name = self.list[i].name.clone();
        let status = match sys.service_delete(&name) {
            Ok(status) => status.to_string(),
            Err(e) => format!("unknown ({e})"),
        };
        let code = status.parse::<u32>().unwrap_or(u32::MAX);
        let s = &mut self.list[i];
        if s.policy.restarts(code) {
            let delay = s.backoff.delay(&s.policy, now.saturating_sub(since));
            s.state = State::Waiting { until: now + delay };
            log(
                sys,
                &format!(
                    "service {name} exited with status {status}; restarting in {}",
                    secs(delay)
                ),
            );
        } else {
            s.state = State::Done;
            log(
                sys,
                &format!(
                    "service {name} exited with status {status}; not restarted (restart policy)"
                ),
            );
        }
    }

    /// SIGTERM to every service, SIGKILL to those still running after
    /// [`STOP_GRACE`], then containerd itself.
    pub fn stop_all(&mut self, sys: &mut impl Sys) {
        if self.containerd.is_none() {
            return;
        }
        let running: Vec<String> = self
            .list
            .iter()
            .filter(|s| matches!(s.state, State::Running { .. }))
            .map(|s| s.name.clone())
            .collect();
        if !running.is_empty() {
            log(sys, &format!("stopping services: {}", running.join(", ")));
            for name in &running {
                let _ = sys.service_kill(name, SIGTERM);
            }
            let left = self.wait_stopped(sys, &running, STOP_GRACE);
            for name in &left {
                log(
                    sys,
                    &format!(
                        "service {name} did not stop within {}s: killing it",
                        STOP_GRACE.as_secs()
                    ),
                );
                let _ = sys.service_kill(name, SIGKILL);
            }
            self.wait_stopped(sys, &left, Duration::from_secs(2));
            for name in &running {
                match sys.service_delete(name) {
                    Ok(status) => log(sys, &format!("service {name} stopped (status {status})")),
                    Err(e) => log(
                        sys,
                        &format!("warning: service {name}: cannot delete its task: {e}"),
                    ),
                }
            }
        }
        for s in &mut self.list {
            s.state = State::Done;
        }
        if let Some(pid) = self.containerd {
            let _ = sys.kill(pid, SIGTERM);
            let end = sys.uptime() + Duration::from_secs(5);
            while self.containerd.is_some() && sys.uptime() < end {
                self.pause(sys, Duration::from_millis(100));
                while let Some(exited) = sys.reap() {
                    if exited.pid == pid {
                        self.containerd = None;
                    }
                }
            }
            if self.containerd.take().is_some() {
                let _ = sys.kill(pid, SIGKILL);
            }
            log(sys, "containerd stopped");
        }
    }

    /// The services of `names` still alive after `limit`.
    fn wait_stopped(
        &mut self,
        sys: &mut impl Sys,
        names: &[String],
        limit: Duration,
    ) -> Vec<String> {
        let end = sys.uptime() + limit;
        loop {
            let left: Vec<String> = match sys.service_tasks() {
                Ok(tasks) => names
                    .iter()
                    .filter(|n| tasks.iter().any(|t| &t.name == *n && t.alive))
                    .cloned()
                    .collect(),
                Err(_) => return Vec::new(),
            };
            if left.is_empty() || sys.uptime() >= end {
                return left;
            }
            self.pause(sys, Duration::from_millis(200));
            while sys.reap().is_some() {}
        }
    }
}

impl Services {
    /// Sleeps up to `d`, keeping a stop signal for the supervisor.
    fn pause(&mut self, sys: &mut impl Sys, d: Duration) {
        if let Some(how) = sys.wait_signal(Some(d)).and_then(signal_stop) {
            self.pending.get_or_insert(how);
        }
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}
