//! What the firmware and systemd-stub extend into PCR 4 and PCR 11 when a
//! UKI boots, forecast from the UKI's bytes. The integrator checked both
//! formulas against a swtpm boot with OVMF (see `FACTS.md`, "UKI and PCRs").
//!
//! PCR 11 (systemd-stub 252, `src/boot/efi/stub.c` with the section table in
//! `src/fundamental/tpm-pcr.c`): before it starts the kernel the stub walks
//! its table of unified sections in table order — `.linux`, `.osrel`,
//! `.cmdline`, `.initrd`, `.splash`, `.dtb`, `.pcrsig`, `.pcrpkey` — and for
//! each one present with a non-zero size extends the SHA-256 of the table's
//! name with its NUL terminator, then the SHA-256 of the section. `.pcrsig`
//! is skipped (it signs the result, so it cannot be part of it). 252 knows
//! no `.uname` (added in 253), and neither cairn's `.cairn` nor any other
//! section is measured. The measured bytes are the section's VirtualSize
//! bytes as loaded in memory (raw data, zero-filled past SizeOfRawData), and
//! a section header matches when its name starts with the table's name, the
//! last match winning.
//!
//! PCR 4 (OVMF/AAVMF, booting the UKI as the default boot option): the
//! EV_EFI_ACTION "Calling EFI Application from Boot Option", the EV_SEPARATOR
//! (four zero bytes), the Authenticode SHA-256 of the UKI file, and the
//! Authenticode SHA-256 of the kernel, since systemd-stub 252 starts
//! `.linux` through the firmware's LoadImage, which measures it like any
//! image. Each event extends the SHA-256 of its data (for images, the
//! Authenticode digest itself).
//!
//! With systemd-boot in front (a disk with root slots), its own image is
//! measured between the separator and the UKI: it starts the UKI through
//! LoadImage too, and 252 measures nothing of its own into PCR 4.
//!
//! Both assume an unattended boot with no command line passed to the stub
//! (a passed command line goes to PCR 12, not 11) and no shim.

use sha2::{Digest, Sha256};

use crate::measure;
pub use crate::measure::PcrValue;
use crate::pe::{self, Pe, PeError};
use crate::uki::STUB_SECTIONS;

/// The event OVMF logs before it starts a boot option's application.
pub const BOOT_OPTION_ACTION: &str = "Calling EFI Application from Boot Option";

/// The one unified section systemd-stub 252 does not measure.
const UNMEASURED: &str = ".pcrsig";

#[derive(Debug, thiserror::Error)]
pub enum PcrError {
    #[error("cannot predict the PCRs of the UKI: it is not a readable PE image")]
    Uki {
        #[source]
        source: PeError,
    },
    #[error("cannot predict PCR 4: the boot manager on the ESP is not a readable PE image")]
    Manager {
        #[source]
        source: PeError,
    },
    #[error("cannot predict PCR 4: the UKI's embedded kernel (.linux) is not a readable PE image")]
    Kernel {
        #[source]
        source: PeError,
    },
    #[error(
        "the UKI has no .linux section; systemd-stub cannot boot it, so there is nothing to predict"
    )]
    NoKernel,
    #[error(
        "the UKI's .linux section is {missing} bytes longer in memory than on disk; rebuild the \
         UKI so the kernel is stored whole"
    )]
    KernelZeroFilled { missing: u64 },
}

type Result<T> = std::result::Result<T, PcrError>;

/// The values PCR 4 and PCR 11 (SHA-256 bank) hold once the UKI has started
/// the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prediction {
    pub pcr4: PcrValue,
    pub pcr11: PcrValue,
}

/// Forecasts PCR 4 and PCR 11 for a boot of `uki` started by the firmware.
pub fn predict(uki: &[u8]) -> Result<Prediction> {
    predict_chain(None, uki)
}

/// Forecasts PCR 4 and PCR 11 for a boot of `uki`, started by `manager`
/// (systemd-boot) when given: the firmware measures the manager's image
/// first, then the UKI that the manager loads through LoadImage.
pub fn predict_chain(manager: Option<&[u8]>, uki: &[u8]) -> Result<Prediction> {
    let pe = pe::parse(uki).map_err(|source| PcrError::Uki { source })?;
    let (linux, linux_fill) = stub_section(uki, &pe, ".linux").ok_or(PcrError::NoKernel)?;
    if linux_fill != 0 {
        return Err(PcrError::KernelZeroFilled {
            missing: linux_fill,
        });
    }

    let mut pcr11_events = Vec::new();
    for name in STUB_SECTIONS.iter().filter(|&&n| n != UNMEASURED) {
        if let Some((data, fill)) = stub_section(uki, &pe, name) {
            let mut with_nul = name.as_bytes().to_vec();
            with_nul.push(0);
            pcr11_events.push(sha256(&with_nul));
            pcr11_events.push(sha256_zero_filled(data, fill));
        }
    }

    let uki_digest = pe::authenticode_sha256(uki).map_err(|source| PcrError::Uki { source })?;
    let kernel_digest =
        pe::authenticode_sha256(linux).map_err(|source| PcrError::Kernel { source })?;
    let mut pcr4_events = vec![sha256(BOOT_OPTION_ACTION.as_bytes()), sha256(&[0; 4])];
    if let Some(manager) = manager {
        pcr4_events
            .push(pe::authenticode_sha256(manager).map_err(|source| PcrError::Manager { source })?);
    }
    pcr4_events.extend([uki_digest, kernel_digest]);

    Ok(Prediction {
        pcr4: measure::replay(&pcr4_events),
        pcr11: measure::replay(&pcr11_events),
    })
}

fn sha256(data: &[u8]) -> PcrValue {
    Sha256::digest(data).into()
}

/// A section as systemd-stub sees it: the last header whose name starts
/// with `name`, as its raw bytes (cut to VirtualSize) and the count of zero
/// bytes the loader adds past them; `None` when absent or empty.
fn stub_section<'a>(uki: &'a [u8], pe: &Pe, name: &str) -> Option<(&'a [u8], u64)> {
    let section = pe
        .sections
        .iter()
        .rev()
        .find(|s| s.raw_name.starts_with(name.as_bytes()))?;
    let size = u64::from(section.virtual_size);
    if size == 0 {
        return None;
    }
    let raw = &uki[section.raw_range()];
    let kept = raw.len().min(section.virtual_size as usize);
    Some((&raw[..kept], size - kept as u64))
}

/// SHA-256 of `data` followed by `zeros` zero bytes, without holding the
/// zeros: a hostile VirtualSize may claim gigabytes.
fn sha256_zero_filled(data: &[u8], zeros: u64) -> PcrValue {
    const CHUNK: [u8; 4096] = [0; 4096];
    let mut hash = Sha256::new();
    hash.update(data);
    let mut left = zeros;
    while left > 0 {
        let n = left.min(CHUNK.len() as u64);
        hash.update(&CHUNK[..n as usize]);
        left -= n;
    }
    hash.finalize().into()
}

#[cfg(test)]
#[path = "pcr_tests.rs"]
mod tests;
