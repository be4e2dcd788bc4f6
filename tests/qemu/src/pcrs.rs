//! Measured boot as a test sees it: what `cairn pcr predict` says of an
//! image, and what a booted guest's TPM holds.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::{Built, Guest, Options, cairn};

const BOOT: Duration = Duration::from_secs(240);

/// `cairn pcr predict --json` of `image`.
pub fn predict(image: &Path) -> BTreeMap<String, String> {
    predict_entry(image, None)
}

/// `cairn pcr predict --json [--entry FILE]` of `image`: the PCRs of the
/// UKI `entry` of its ESP, else of the one systemd-boot starts by default.
pub fn predict_entry(image: &Path, entry: Option<&str>) -> BTreeMap<String, String> {
    let mut cmd = Command::new(cairn().unwrap_or_else(|e| panic!("{e}")));
    cmd.args(["pcr", "predict", "--json"]);
    if let Some(entry) = entry {
        cmd.args(["--entry", entry]);
    }
    let out = cmd.arg(image).output().expect("cairn pcr predict runs");
    assert!(
        out.status.success(),
        "cairn pcr predict failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("predict prints JSON")
}

/// Boots `built` with a TPM and returns the PCRs (4, 11, 15) its `pcrs`
/// service printed, as examples/measured.yml does.
pub fn booted_pcrs(built: &Built) -> BTreeMap<String, String> {
    let opts = Options {
        tpm: true,
        limit: BOOT + Duration::from_secs(60),
        ..Options::default()
    };
    let mut guest = Guest::boot(built, &opts).unwrap_or_else(|e| panic!("{e}"));
    guest
        .wait_for("pcrs-done", BOOT)
        .unwrap_or_else(|e| panic!("{e}"));
    let log = guest.log();
    let status = guest
        .wait_exit(Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        status.success(),
        "the guest did not power off cleanly:\n{log}"
    );
    let mut pcrs = BTreeMap::new();
    for line in log.lines() {
        // The service's lines come prefixed with its name ("pcrs: ").
        if let Some(at) = line.find("pcr-")
            && let Some((n, v)) = line[at + 4..].split_once('=')
        {
            pcrs.insert(n.to_string(), v.trim().to_lowercase());
        }
    }
    assert!(
        ["4", "11", "15"].iter().all(|n| pcrs.contains_key(*n)),
        "expected lines for PCRs 4, 11 and 15 in:\n{log}"
    );
    pcrs
}
