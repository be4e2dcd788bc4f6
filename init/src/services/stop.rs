//! Stopping the services at shutdown: SIGTERM, SIGKILL after a grace
//! period, each task deleted, then containerd itself.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{SIGKILL, SIGTERM, STOP_GRACE, Services, State};
use crate::log::log;
use crate::sys::Sys;

impl Services {
    /// SIGTERM to every service, SIGKILL to those still running after
    /// [`STOP_GRACE`], then containerd itself.
    pub fn stop_all(&mut self, sys: &mut impl Sys) {
        if self.containerd.is_none() {
            return;
        }
        let running: Vec<usize> = (0..self.list.len())
            .filter(|i| matches!(self.list[*i].state, State::Running { .. }))
            .collect();
        if !running.is_empty() {
            let names: Vec<&str> = running
                .iter()
                .map(|i| self.list[*i].name.as_str())
                .collect();
            log(sys, &format!("stopping services: {}", names.join(", ")));
            for i in &running {
                let _ = sys.service_kill(&self.list[*i].ns, &self.list[*i].name, SIGTERM);
            }
            let left = self.wait_stopped(sys, &running, STOP_GRACE);
            for i in &left {
                let name = self.list[*i].name.clone();
                log(
                    sys,
                    &format!(
                        "service {name} did not stop within {}s: killing it",
                        STOP_GRACE.as_secs()
                    ),
                );
                let _ = sys.service_kill(&self.list[*i].ns, &name, SIGKILL);
            }
            self.wait_stopped(sys, &left, Duration::from_secs(2));
            for i in running {
                let (name, ns) = (self.list[i].name.clone(), self.list[i].ns.clone());
                match sys.service_delete(&ns, &name) {
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

    /// The services of `which` still alive after `limit`.
    fn wait_stopped(&mut self, sys: &mut impl Sys, which: &[usize], limit: Duration) -> Vec<usize> {
        let end = sys.uptime() + limit;
        loop {
            let Ok(left) = self.alive(sys, which) else {
                return Vec::new();
            };
            if left.is_empty() || sys.uptime() >= end {
                return left;
            }
            self.pause(sys, Duration::from_millis(200));
            while sys.reap().is_some() {}
        }
    }

    /// The services of `which` whose task is alive: one ListTasks call per
    /// containerd namespace they use.
    pub(super) fn alive(&self, sys: &mut impl Sys, which: &[usize]) -> std::io::Result<Vec<usize>> {
        let namespaces: BTreeSet<&str> = which.iter().map(|i| self.list[*i].ns.as_str()).collect();
        let mut tasks = Vec::new();
        for ns in namespaces {
            tasks.extend(sys.service_tasks(ns)?.into_iter().map(|t| (ns, t)));
        }
        Ok(which
            .iter()
            .copied()
            .filter(|i| {
                let s = &self.list[*i];
                tasks
                    .iter()
                    .any(|(ns, t)| *ns == s.ns && t.name == s.name && t.alive)
            })
            .collect())
    }
}
