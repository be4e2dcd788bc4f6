//! dhcpcd's `script`: dhcpcd runs it with what it learned in the
//! environment (dhcpcd-run-hooks(8)); this writes the name servers to
//! /etc/resolv.conf, in place, because that file is a bind mount shared
//! with other containers (a rename over it would fail with EBUSY).

use std::io::Write;
use std::process::ExitCode;

use cairn_tools::resolv;

const RESOLV_CONF: &str = "/etc/resolv.conf";

fn main() -> ExitCode {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let lookup = |k: &str| {
        env.iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.as_str())
    };
    let Some(text) = resolv::render(&lookup) else {
        return ExitCode::SUCCESS;
    };
    let written = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .create(true)
        .open(RESOLV_CONF)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    match written {
        Ok(()) => {
            let servers = text.lines().filter(|l| l.starts_with("nameserver")).count();
            eprintln!("cairn-dhcpcd-hook: wrote {servers} name server(s) to {RESOLV_CONF}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "cairn-dhcpcd-hook: cannot write {RESOLV_CONF}: {e}; bind it into the dhcpcd container (binds: /etc/resolv.conf:/etc/resolv.conf)"
            );
            ExitCode::FAILURE
        }
    }
}
