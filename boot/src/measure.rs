//! What cairn-init extends into the TPM, shared by the init (which extends
//! it at boot) and the builder (which forecasts it with `cairn pcr predict`),
//! so the two cannot drift apart.
//!
//! Every event is one line of text; the init extends the SHA-256 of that
//! line into [`PCR`] and logs the line. The order is fixed: `enter-initrd`
//! when the init starts, then one line per container it will run (onboot,
//! services, onshutdown, each in the lexical order of its bundle folder
//! names), then `leave-initrd` just before switching to the real root, then
//! `ready` once every service has started. A secret sealed to the value
//! after `leave-initrd` can thus no longer be unsealed once services run.
//! `docs/security.md` describes what this covers.

use sha2::{Digest, Sha256};

/// The PCR cairn-init extends. systemd leaves PCR 15 to the system's own
/// identity (root filesystem, machine id); cairn has no systemd, and the
/// containers a system runs are its identity.
pub const PCR: u32 = 15;

/// A SHA-256 PCR bank value.
pub type PcrValue = [u8; 32];

/// Boot phases the init marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    EnterInitrd,
    LeaveInitrd,
    Ready,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::EnterInitrd => "enter-initrd",
            Phase::LeaveInitrd => "leave-initrd",
            Phase::Ready => "ready",
        }
    }
}

/// One container the init will run: `stage` is `onboot`, `services` or
/// `onshutdown`, `name` its bundle folder (`000-dhcpcd`, `getty`), `image`
/// the image's manifest digest and `config` the SHA-256 of its
/// `config.json`, both as `sha256:<hex>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub stage: String,
    pub name: String,
    pub image: String,
    pub config: String,
}

/// One measured event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Phase(Phase),
    Container(Container),
}

impl Event {
    /// The line that is logged and whose SHA-256 is extended.
    pub fn text(&self) -> String {
        match self {
            Event::Phase(p) => format!("cairn:phase:{}", p.name()),
            Event::Container(c) => format!(
                "cairn:container:{}/{}:image={}:config={}",
                c.stage, c.name, c.image, c.config
            ),
        }
    }

    pub fn digest(&self) -> PcrValue {
        event_digest(&self.text())
    }
}

/// The SHA-256 of one event line.
pub fn event_digest(line: &str) -> PcrValue {
    Sha256::digest(line.as_bytes()).into()
}

/// TPM2_PCR_Extend for SHA-256: new = SHA-256(old || digest).
pub fn extend(pcr: &PcrValue, digest: &PcrValue) -> PcrValue {
    let mut h = Sha256::new();
    h.update(pcr);
    h.update(digest);
    h.finalize().into()
}

/// The value of a PCR that started at zero after `digests` were extended.
pub fn replay<'a>(digests: impl IntoIterator<Item = &'a PcrValue>) -> PcrValue {
    digests
        .into_iter()
        .fold([0u8; 32], |pcr, d| extend(&pcr, d))
}

/// The events of a boot that runs `containers`, in the order the init
/// extends them. `containers` may come in any order.
pub fn plan(containers: &[Container]) -> Vec<Event> {
    let rank = |stage: &str| match stage {
        "onboot" => 0,
        "services" => 1,
        "onshutdown" => 2,
        _ => 3,
    };
    let mut sorted: Vec<&Container> = containers.iter().collect();
    sorted.sort_by(|a, b| {
        (rank(&a.stage), a.stage.as_str(), a.name.as_str()).cmp(&(
            rank(&b.stage),
            b.stage.as_str(),
            b.name.as_str(),
        ))
    });
    let mut events = vec![Event::Phase(Phase::EnterInitrd)];
    events.extend(sorted.into_iter().cloned().map(Event::Container));
    events.push(Event::Phase(Phase::LeaveInitrd));
    events.push(Event::Phase(Phase::Ready));
    events
}

/// The plan as text, one event line each, as the UKI's `.cairn` section
/// carries it for `cairn pcr predict`.
pub fn plan_text(events: &[Event]) -> String {
    events.iter().map(|e| e.text() + "\n").collect()
}

/// The final value of [`PCR`] after the boot a plan text describes.
pub fn predict(plan_text: &str) -> PcrValue {
    let digests: Vec<PcrValue> = plan_text.lines().map(event_digest).collect();
    replay(&digests)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(stage: &str, name: &str) -> Container {
        Container {
            stage: stage.into(),
            name: name.into(),
            image: "sha256:aa".into(),
            config: "sha256:bb".into(),
        }
    }

    #[test]
    fn extend_matches_the_tpm_formula_for_a_zero_pcr() {
        // SHA-256 of 64 zero bytes: extending a zero digest into a zero PCR.
        assert_eq!(
            hex::encode(extend(&[0; 32], &[0; 32])),
            "f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b"
        );
    }

    #[test]
    fn plan_orders_stages_then_names_between_the_phase_markers() {
        let events = plan(&[
            container("services", "web"),
            container("onshutdown", "000-bye"),
            container("onboot", "001-b"),
            container("services", "getty"),
            container("onboot", "000-a"),
        ]);
        let lines: Vec<String> = events.iter().map(Event::text).collect();
        assert_eq!(
            lines,
            [
                "cairn:phase:enter-initrd",
                "cairn:container:onboot/000-a:image=sha256:aa:config=sha256:bb",
                "cairn:container:onboot/001-b:image=sha256:aa:config=sha256:bb",
                "cairn:container:services/getty:image=sha256:aa:config=sha256:bb",
                "cairn:container:services/web:image=sha256:aa:config=sha256:bb",
                "cairn:container:onshutdown/000-bye:image=sha256:aa:config=sha256:bb",
                "cairn:phase:leave-initrd",
                "cairn:phase:ready",
            ]
        );
    }

    #[test]
    fn predicting_from_the_plan_text_equals_replaying_the_events() {
        let events = plan(&[container("onboot", "000-a")]);
        let digests: Vec<PcrValue> = events.iter().map(Event::digest).collect();
        assert_eq!(predict(&plan_text(&events)), replay(&digests));
        assert_ne!(predict(&plan_text(&events)), [0; 32]);
    }
}
