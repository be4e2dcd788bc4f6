//! Services: containerd started by the init, each service created from its
//! prepared bundle through containerd's API and restarted per its policy.

use std::time::Duration;

pub mod containerd;
pub mod containerd_opts;
pub mod oneshot;
pub mod prepare;
pub mod restart;
pub mod runtime;
pub mod system;
pub mod volumes;

use crate::log::log;
use crate::services::system::System;
use crate::signals::signal_stop;
use crate::sys::{Exited, Shutdown, Sys};
use containerd_opts::RuntimeConfig;
use restart::{Backoff, Policy};
use runtime::Runtime;

pub const DIR: &str = "/containers/services";
pub const CONTAINERD: &str = "/usr/bin/containerd";
pub const SOCKET: &str = "/run/containerd/containerd.sock";
pub const CONFIG: &str = "/run/cairn/containerd.toml";
pub const CONTAINERD_LOG: &str = "/var/log/containerd.log";
/// The containerd namespace of services whose runtime.json names none
/// (LinuxKit's is `services.linuxkit`).
pub const NAMESPACE: &str = "services.cairn";

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
    /// Exited with status 0 at `at` and its policy says not to restart:
    /// its work is done, which counts as up for the boot's blessing.
    Finished {
        at: Duration,
    },
    /// Exited with a failure and its policy says not to restart, or
    /// stopped at shutdown.
    Done,
}

#[derive(Debug)]
struct Service {
    name: String,
    bundle: String,
    /// Its containerd namespace.
    ns: String,
    /// Its runtime.json: `interfaces` and `bindNS` apply at every start.
    runtime: Runtime,
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
    /// When `start_all` began.
    started: Option<Duration>,
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
                ns: NAMESPACE.to_string(),
                runtime: Runtime::default(),
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
            started: None,
        }
    }

    /// Starts containerd, waits until it answers, and starts every service.
    pub fn start_all(&mut self, sys: &mut impl Sys) {
        self.started = Some(sys.uptime());
        if self.list.is_empty() {
            log(sys, "no services");
            return;
        }
        if !self.start_containerd(sys) {
            return;
        }
        for i in 0..self.list.len() {
            if self.prepare(sys, i) {
                self.start(sys, i);
            }
        }
        log(sys, "all services started");
    }

    /// Reads the runtime.json of service `i`, applies the steps that come
    /// before its container exists and creates it; false when that failed
    /// (logged), and the service stays down.
    fn prepare(&mut self, sys: &mut impl Sys, i: usize) -> bool {
        let (name, bundle) = (self.list[i].name.clone(), self.list[i].bundle.clone());
        let who = format!("service {name}");
        let runtime = match prepare::load(sys, &bundle) {
            Ok(r) => r,
            Err(e) => {
                log(sys, &format!("{who} failed: {e}"));
                return false;
            }
        };
        if let Some(json) = &runtime.restart {
            let (policy, unknown) = self.default_policy.with(json);
            if let Some(p) = unknown {
                log(
                    sys,
                    &format!("warning: {name}: unknown restart policy {p:?}; using the default"),
                );
            }
            self.list[i].policy = policy;
        }
        if !runtime.namespace.is_empty() {
            self.list[i].ns = runtime.namespace.clone();
        }
        if let Err(e) = prepare::filesystem(sys, &who, &name, &bundle, &runtime) {
            log(sys, &format!("{who} failed: {e}"));
            return false;
        }
        let ns = self.list[i].ns.clone();
        self.list[i].runtime = runtime;
        if let Err(e) = sys.service_create(&ns, &name, &bundle) {
            log(
                sys,
                &format!("{who} failed: cannot create its container: {e}"),
            );
            return false;
        }
        true
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
        let opts = match sys.read_file(containerd_opts::PATH) {
            Err(_) => RuntimeConfig::default(),
            Ok(text) => containerd_opts::parse(&text).unwrap_or_else(|e| {
                log(
                    sys,
                    &format!(
                        "warning: {}: {e}; starting containerd as usual",
                        containerd_opts::PATH
                    ),
                );
                RuntimeConfig::default()
            }),
        };
        let args = opts.args(config);
        let mut argv = vec![CONTAINERD];
        argv.extend(args.iter().map(String::as_str));
        let stdout = opts.stdout.as_deref().unwrap_or(CONTAINERD_LOG);
        let stderr = opts.stderr.as_deref().unwrap_or(CONTAINERD_LOG);
        let pid = match sys.spawn(&argv, stdout, stderr) {
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
            &format!(
                "containerd started (pid {pid}, {}, output {stdout}{})",
                args.join(" "),
                if stderr == stdout {
                    String::new()
                } else {
                    format!(", errors {stderr}")
                }
            ),
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

    /// Creates the task of service `i`, applies the steps that need its pid
    /// and starts it; on failure it is deleted and tried again later.
    fn start(&mut self, sys: &mut impl Sys, i: usize) {
        let now = sys.uptime();
        let (name, ns) = (self.list[i].name.clone(), self.list[i].ns.clone());
        let who = format!("service {name}");
        let failure = match sys.service_task(&ns, &name) {
            Err(e) => format!("{who} failed to start: {e}"),
            Ok(pid) => match prepare::process(sys, &who, pid, &self.list[i].runtime) {
                Err(e) => format!("{who} failed: {e}"),
                Ok(()) => match sys.service_start(&ns, &name) {
                    Err(e) => format!("{who} failed to start: {e}"),
                    Ok(()) => {
                        log(sys, &format!("{who} started (pid {pid})"));
                        self.list[i].state = State::Running { since: now };
                        return;
                    }
                },
            },
        };
        // A task that exists but will not run would block the next start.
        let _ = sys.service_kill(&ns, &name, SIGKILL);
        let _ = sys.service_delete(&ns, &name);
        let s = &mut self.list[i];
        let delay = s.backoff.delay(&s.policy, Duration::ZERO);
        s.state = State::Waiting { until: now + delay };
        log(sys, &format!("{failure}; trying again in {}", secs(delay)));
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
            let running: Vec<usize> = (0..self.list.len())
                .filter(|i| matches!(self.list[*i].state, State::Running { .. }))
                .collect();
            match self.alive(sys, &running) {
                Ok(alive) => {
                    for i in running.into_iter().filter(|i| !alive.contains(i)) {
                        if let State::Running { since } = self.list[i].state {
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
        let (name, ns) = (self.list[i].name.clone(), self.list[i].ns.clone());
        let status = match sys.service_delete(&ns, &name) {
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
            s.state = if code == 0 {
                State::Finished { at: now }
            } else {
                State::Done
            };
            log(
                sys,
                &format!(
                    "service {name} exited with status {status}; not restarted (restart policy)"
                ),
            );
        }
    }
}

impl Services {
    /// Sleeps up to `d`, keeping a stop signal for the supervisor.
    pub(super) fn pause(&mut self, sys: &mut impl Sys, d: Duration) {
        if let Some(how) = sys.wait_signal(Some(d)).and_then(signal_stop) {
            self.pending.get_or_insert(how);
        }
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

mod stop;
mod up;
