//! cairn-init: the system's PID 1. It mounts the system filesystems, sets the
//! hostname, reaps zombies, and syncs and stops the system on SIGTERM or
//! SIGINT (reboot), SIGUSR1 (halt) or SIGUSR2 (power off).
//!
//! It never panics on purpose and never exits: either would panic the kernel.
//! A fatal error is printed and the system powers off.
#![deny(unsafe_code)]

mod bless;
mod boot;
mod data;
mod disk;
#[cfg(test)]
mod fake;
mod fatal;
#[cfg(test)]
mod flow_tests;
mod linux;
mod log;
mod measure_boot;
mod modules;
mod mounts;
mod request;
mod services;
mod signals;
mod stage1;
mod sys;
mod tpm;

use std::process::ExitCode;

use linux::Linux;
use log::log;
use sys::{Processes, Signal};

const USAGE: &str = "usage: cairn-init [--version]\n\
    cairn-init is a system's first process: the kernel starts it as PID 1 \
    (from an initramfs or as init=); run as any other process it does nothing.";

fn main() -> ExitCode {
    if rustix::process::getpid().as_raw_nonzero().get() != 1 {
        return not_pid1(std::env::args().skip(1).collect());
    }
    std::panic::set_hook(Box::new(|info| {
        // A panic in PID 1 would end it and panic the kernel: stop cleanly.
        eprintln!("cairn-init: fatal: bug: {info}; powering off");
        rustix::fs::sync();
        let _ = rustix::system::reboot(rustix::system::RebootCommand::PowerOff);
    }));
    let mut sys = match Linux::new() {
        Ok(sys) => sys,
        Err(e) => {
            eprintln!("cairn-init: fatal: cannot install signal handlers: {e}; powering off");
            rustix::fs::sync();
            let _ = rustix::system::reboot(rustix::system::RebootCommand::PowerOff);
            return idle_without_signals();
        }
    };
    let how = boot::run(&mut sys);
    boot::stop(&mut sys, how);
    // The kernel refused to stop: keep reaping, since exiting panics it.
    log(
        &mut sys,
        "halted: the kernel refused to stop; reaping children until it is switched off",
    );
    loop {
        if sys.wait_signal(None) == Some(Signal::Child) {
            while sys.reap().is_some() {}
        }
    }
}

fn not_pid1(args: Vec<String>) -> ExitCode {
    if args.iter().any(|a| a == "--version" || a == "-V") {
        println!("cairn-init {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

/// The last resort when even the signal handlers failed: sleep forever.
fn idle_without_signals() -> ExitCode {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
