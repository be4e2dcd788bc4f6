//! The boot measurements: the events of `cairn_boot::measure` extended into
//! PCR 15 in their fixed order and logged in
//! `/run/cairn/measurements.json`, so that a container can replay the log
//! against the TPM and a verifier against `cairn pcr predict`.

use std::io;

use cairn_boot::measure::{self, Container, Event, PCR, Phase};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::log::log;
use crate::sys::{Console, Files, Tpm};
use crate::tpm;

/// The event log, in the root the system runs from.
pub const LOG: &str = "/run/cairn/measurements.json";
/// Created once `ready` is extended: PCR 15 holds its final value.
pub const READY: &str = "/run/cairn/ready";
/// The bundle stages, in the order `measure::plan` ranks them.
pub const STAGES: [&str; 3] = ["onboot", "services", "onshutdown"];

/// `measurements.json`. `tpm` is true when every event in it was extended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Log {
    pub pcr: u32,
    pub tpm: bool,
    pub events: Vec<Logged>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logged {
    pub event: String,
    pub digest: String,
}

/// A bundle that cannot be measured.
#[derive(Debug, thiserror::Error)]
#[error("cannot measure container {bundle}: cannot read {bundle}/config.json: {source}")]
pub struct BundleError {
    pub bundle: String,
    #[source]
    pub source: io::Error,
}

/// Extends events into the TPM, if there is one, and keeps their log.
#[derive(Debug)]
pub struct Measurer {
    /// The TPM's device, while extends succeed.
    device: Option<String>,
    log: Log,
}

impl Measurer {
    /// Opens the TPM; without one, says once that measurements are skipped.
    pub fn open(sys: &mut (impl Files + Console + Tpm)) -> Measurer {
        let device = match sys.tpm_open() {
            Ok(device) => Some(device),
            Err(e) => {
                let why = if e.kind() == io::ErrorKind::NotFound {
                    String::new()
                } else {
                    format!(" ({e})")
                };
                log(sys, &format!("no TPM{why}: boot measurements are skipped"));
                None
            }
        };
        Measurer::with_log(
            device,
            Log {
                pcr: PCR,
                tpm: true,
                events: Vec::new(),
            },
        )
    }

    fn with_log(device: Option<String>, mut log: Log) -> Measurer {
        log.tpm &= device.is_some();
        Measurer { device, log }
    }

    /// Extends `event` and logs it; a TPM failure is printed once and ends
    /// the extends of this boot (the log then says `"tpm": false`).
    pub fn extend(&mut self, sys: &mut (impl Files + Console + Tpm), event: &Event) {
        let text = event.text();
        let digest = event.digest();
        if let Some(device) = self.device.take() {
            match tpm::extend(sys, &device, PCR, &digest) {
                Ok(()) => self.device = Some(device),
                Err(e) => {
                    log(sys, &format!("tpm: {e}; boot measurements stop here"));
                    self.log.tpm = false;
                }
            }
        }
        self.log.events.push(Logged {
            event: text,
            digest: hex::encode(digest),
        });
    }

    pub fn tpm(&self) -> bool {
        self.log.tpm
    }

    pub fn events(&self) -> usize {
        self.log.events.len()
    }

    /// Writes the log to `root` + [`LOG`] through a temporary file, so a
    /// reader never sees half of it.
    pub fn write(&self, sys: &mut (impl Files + Console + Tpm), root: &str) -> io::Result<()> {
        let path = format!("{root}{LOG}");
        let dir = path.rsplit_once('/').map_or("/", |(d, _)| d);
        sys.mkdir(dir)?;
        let mut text = serde_json::to_string(&self.log).map_err(io::Error::other)?;
        text.push('\n');
        let tmp = format!("{path}.tmp");
        sys.write_file(&tmp, &text)?;
        sys.rename(&tmp, &path)
    }
}

/// Every bundle under `root`/containers, as `measure::Container`s.
pub fn containers(
    sys: &mut (impl Files + Console + Tpm),
    root: &str,
) -> Result<Vec<Container>, BundleError> {
    let mut found = Vec::new();
    for stage in STAGES {
        let dir = format!("{root}/containers/{stage}");
        let Ok(names) = sys.list_dir(&dir) else {
            continue;
        };
        for name in names {
            let bundle = format!("{dir}/{name}");
            let config = sys
                .read_file(&format!("{bundle}/config.json"))
                .map_err(|source| BundleError {
                    bundle: bundle.clone(),
                    source,
                })?;
            found.push(Container {
                stage: stage.into(),
                name,
                image: image_digest(sys, &bundle),
                config: format!("sha256:{}", hex::encode(Sha256::digest(config.as_bytes()))),
            });
        }
    }
    Ok(found)
}

/// runtime.json's `imageDigest` (the builder writes it), else `unknown`.
fn image_digest(sys: &mut (impl Files + Console + Tpm), bundle: &str) -> String {
    sys.read_file(&format!("{bundle}/runtime.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("imageDigest")?.as_str().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// Stage 1: every event of the plan for `containers` after `enter-initrd`
/// (extended earlier) up to `leave-initrd`; `ready` comes in stage 2.
pub fn extend_plan(
    sys: &mut (impl Files + Console + Tpm),
    measurer: &mut Measurer,
    containers: &[Container],
) {
    let events = measure::plan(containers);
    for event in events.iter().filter(|e| {
        !matches!(
            e,
            Event::Phase(Phase::EnterInitrd) | Event::Phase(Phase::Ready)
        )
    }) {
        measurer.extend(sys, event);
    }
}

/// Stage 2, once every service started: extends `ready`, appends it to the
/// log and creates [`READY`]. Does nothing without a log (no disk boot).
pub fn ready(sys: &mut (impl Files + Console + Tpm)) {
    let Ok(text) = sys.read_file(LOG) else {
        return;
    };
    let old: Log = match serde_json::from_str(&text) {
        Ok(log) => log,
        Err(e) => {
            log(
                sys,
                &format!("warning: {LOG} is not valid ({e}); not extending ready"),
            );
            return;
        }
    };
    let device = if old.tpm {
        match sys.tpm_open() {
            Ok(device) => Some(device),
            Err(e) => {
                log(
                    sys,
                    &format!("tpm: cannot open the TPM again ({e}); ready is not extended"),
                );
                None
            }
        }
    } else {
        None
    };
    let mut measurer = Measurer::with_log(device, old);
    measurer.extend(sys, &Event::Phase(Phase::Ready));
    if let Err(e) = measurer.write(sys, "") {
        log(sys, &format!("warning: cannot write {LOG}: {e}"));
    }
    if let Err(e) = sys.write_file(READY, "") {
        log(sys, &format!("warning: cannot create {READY}: {e}"));
    }
    let what = if measurer.tpm() {
        format!(
            "tpm: PCR {PCR} extended with ready ({} events in all)",
            measurer.events()
        )
    } else {
        format!(
            "measured ready ({} events, not in a TPM)",
            measurer.events()
        )
    };
    log(sys, &what);
}

#[cfg(test)]
#[path = "measure_boot_tests.rs"]
mod tests;
