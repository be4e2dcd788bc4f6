//! `boot.sig` for the Raspberry Pi 4 EEPROM bootloader's secure-boot mode.
//!
//! With secure boot on, the bootloader loads `boot.img` (a FAT image with
//! the firmware, config.txt, kernel, initramfs and device trees) only when
//! the SHA-256 in `boot.sig` matches it and the RSA signature in `boot.sig`
//! verifies with the customer's public key, whose hash is fused into OTP.
//!
//! The format, as Raspberry Pi's `rpi-eeprom-digest` (rpi-eeprom, and
//! usbboot's `tools/` link to it) writes it and as usbboot's
//! `docs/secure-boot.md` and `secure-boot-example/boot.sig` show it, is
//! three lines, each ended by `\n` (the script appends each with `echo`):
//!
//! ```text
//! <sha256 of boot.img, 64 lowercase hex digits>
//! ts: <seconds since 1970, decimal>
//! rsa2048: <PKCS#1 v1.5 RSA-2048 signature over SHA-256(boot.img), 512 lowercase hex digits>
//! ```
//!
//! The first line is `sha256sum boot.img | awk '{print $1}'`; `ts` is
//! `SOURCE_DATE_EPOCH` when set (else the clock), so cairn writes the
//! build's timestamp and a rebuild gives the same bytes; the signature is
//! `openssl dgst -sign key.pem -sha256 boot.img` as one line of `xxd -p -c
//! 4096`. Newer scripts may put `target-soc: 2711|2712` before the
//! signature, but only for firmware updates (`-c`), never for `boot.img`,
//! so [`parse_boot_sig`] refuses it with every other extra line.
//!
//! The bootloader checks only 2048-bit keys (`rpi-eeprom-config` refuses to
//! put any other size into the EEPROM), so [`load_key`] refuses them too:
//! a wrong key would give a `boot.sig` that no Pi accepts.
//!
//! PKCS#1 v1.5 signatures are deterministic: the same image, key and `ts`
//! always give the same `boot.sig`. The rsa crate blinds the private-key
//! operation with the system's random numbers, which hides the key's
//! timing without changing the signature.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::sha2::{Digest, Sha256};
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey, PublicKey};

use crate::exit::{Classify, ErrorClass};

/// The only RSA key size the bootloader verifies.
pub const KEY_BITS: u32 = 2048;
/// An RSA-2048 signature, in bytes.
pub const SIGNATURE_LEN: usize = 256;

/// A PEM RSA key is a few KiB; a larger file is refused before it is read.
const MAX_KEY_FILE: u64 = 64 * 1024;
const MAKE_A_KEY: &str = "make one with `openssl genrsa -out key.pem 2048`";

/// A parsed `boot.sig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootSig {
    pub sha256: [u8; 32],
    pub ts: u64,
    /// [`SIGNATURE_LEN`] bytes.
    pub signature: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("cannot read the signing key {}", path.display())]
    KeyRead {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("signing key {} is not an RSA private key: {reason}; {MAKE_A_KEY}", path.display())]
    NotAKey { path: PathBuf, reason: String },
    #[error("signing key {} cannot be decoded as an RSA private key; {MAKE_A_KEY}", path.display())]
    BadKey {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "signing key {} is encrypted and a build cannot ask for its passphrase; write a decrypted copy with `openssl pkey -in {} -out key.pem` and keep it readable only by you",
        path.display(), path.display()
    )]
    Encrypted { path: PathBuf },
    #[error(
        "signing key {} is a {bits}-bit RSA key, but the Raspberry Pi bootloader verifies only RSA-2048 signatures; {MAKE_A_KEY}",
        path.display()
    )]
    KeySize { path: PathBuf, bits: u32 },
    #[error("cannot read {} to sign it", path.display())]
    ImageRead {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot sign boot.img with the RSA key")]
    Sign {
        #[source]
        source: rsa::Error,
    },
    #[error("boot.sig is not in the Raspberry Pi format: {reason}")]
    Malformed { reason: String },
    #[error("boot.img does not match boot.sig: its SHA-256 is {actual}, boot.sig names {expected}")]
    DigestMismatch { expected: String, actual: String },
    #[error("the RSA signature in boot.sig does not verify with this public key")]
    BadSignature {
        #[source]
        source: rsa::Error,
    },
}

impl Classify for SignError {
    fn class(&self) -> ErrorClass {
        match self {
            SignError::KeyRead { source, .. } | SignError::ImageRead { source, .. } => {
                match source.kind() {
                    io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied => ErrorClass::User,
                    _ => ErrorClass::Environment,
                }
            }
            // A valid 2048-bit key only fails to sign when the system's
            // random numbers (for blinding) fail.
            SignError::Sign { .. } => ErrorClass::Environment,
            SignError::NotAKey { .. }
            | SignError::BadKey { .. }
            | SignError::Encrypted { .. }
            | SignError::KeySize { .. }
            | SignError::Malformed { .. }
            | SignError::DigestMismatch { .. }
            | SignError::BadSignature { .. } => ErrorClass::User,
        }
    }
}

/// Reads an unencrypted RSA-2048 private key: PEM PKCS#1 (`BEGIN RSA
/// PRIVATE KEY`, OpenSSL 1.x `genrsa`, or 3.x with `-traditional`) or
/// PKCS#8 (`BEGIN PRIVATE KEY`, OpenSSL 3.x `genrsa`).
pub fn load_key(path: &Path) -> Result<PrivateKey, SignError> {
    let text = read_key_file(path)?;
    let not_a_key = |reason: String| SignError::NotAKey {
        path: path.to_path_buf(),
        reason,
    };
    let bad_key = |source: Box<dyn std::error::Error + Send + Sync>| SignError::BadKey {
        path: path.to_path_buf(),
        source,
    };
    let (label, block) =
        pem_block(&text).ok_or_else(|| not_a_key("it holds no PEM block".into()))?;
    let key = match label {
        // OpenSSL's legacy encryption keeps the PKCS#1 label and adds
        // headers; the PEM decoder would only call them malformed.
        "RSA PRIVATE KEY" if block.contains("Proc-Type:") && block.contains("ENCRYPTED") => {
            return Err(SignError::Encrypted {
                path: path.to_path_buf(),
            });
        }
        "RSA PRIVATE KEY" => PrivateKey::from_pkcs1_pem(block).map_err(|e| bad_key(e.into()))?,
        "PRIVATE KEY" => PrivateKey::from_pkcs8_pem(block).map_err(|e| bad_key(e.into()))?,
        "ENCRYPTED PRIVATE KEY" => {
            return Err(SignError::Encrypted {
                path: path.to_path_buf(),
            });
        }
        "PUBLIC KEY" | "RSA PUBLIC KEY" => {
            return Err(not_a_key(
                "it holds a public key, and signing needs the private key".into(),
            ));
        }
        other => return Err(not_a_key(format!("it holds a PEM block of type {other:?}"))),
    };
    // The modulus is public, so its variable-time bit count leaks nothing.
    let bits = key.n().bit_width_vartime();
    if bits != KEY_BITS {
        return Err(SignError::KeySize {
            path: path.to_path_buf(),
            bits,
        });
    }
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o004 != 0
    {
        tracing::warn!(
            "signing key {} is readable by every user of this machine; run `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
    Ok(key)
}

fn read_key_file(path: &Path) -> Result<String, SignError> {
    let read = |source| SignError::KeyRead {
        path: path.to_path_buf(),
        source,
    };
    let not_a_key = |reason: String| SignError::NotAKey {
        path: path.to_path_buf(),
        reason,
    };
    let file = fs::File::open(path).map_err(read)?;
    if !file.metadata().map_err(read)?.is_file() {
        return Err(not_a_key("it is not a regular file".into()));
    }
    // The size is bounded while reading, not from the metadata, which a
    // growing file or a special file can contradict.
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(read)?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(not_a_key(format!(
            "it is larger than {} KiB, far more than a key",
            MAX_KEY_FILE / 1024
        )));
    }
    String::from_utf8(bytes).map_err(|_| not_a_key("it is binary, not PEM text".into()))
}

/// The label and text of the first PEM block; text around it (comments,
/// OpenSSL's "Bag Attributes") is ignored.
fn pem_block(text: &str) -> Option<(&str, &str)> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let label = &rest[..rest.find("-----")?];
    let end_line = format!("-----END {label}-----");
    let end = start + text[start..].find(&end_line)? + end_line.len();
    Some((label, &text[start..end]))
}

/// The `boot.sig` text for `boot_img`, stamped `ts` (the build's
/// SOURCE_DATE_EPOCH, so that a rebuild gives the same bytes).
pub fn boot_sig(boot_img: &[u8], key: &PrivateKey, ts: u64) -> Result<String, SignError> {
    boot_sig_for_digest(Sha256::digest(boot_img).into(), key, ts)
}

/// [`boot_sig`] for an image on disk, read in pieces rather than whole.
pub fn boot_sig_for_file(boot_img: &Path, key: &PrivateKey, ts: u64) -> Result<String, SignError> {
    let read = |source| SignError::ImageRead {
        path: boot_img.to_path_buf(),
        source,
    };
    let mut file = fs::File::open(boot_img).map_err(read)?;
    let mut hasher = Sha256::new();
    // rsa's sha2 is built without `std`, so it is no io::Write to copy into.
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read(e)),
        }
    }
    boot_sig_for_digest(hasher.finalize().into(), key, ts)
}

/// [`boot_sig`] for an image whose SHA-256 the caller took while writing
/// it, so that it need not be read back.
pub fn boot_sig_for_digest(
    sha256: [u8; 32],
    key: &PrivateKey,
    ts: u64,
) -> Result<String, SignError> {
    // PKCS#1 v1.5 over SHA-256 with its DigestInfo prefix: what `openssl
    // dgst -sha256 -sign` makes with an RSA key.
    let signature = key
        .pkcs1v15_sign_prehash::<Sha256>(&sha256)
        .map_err(|source| SignError::Sign { source })?;
    Ok(format!(
        "{}\nts: {ts}\nrsa2048: {}\n",
        hex::encode(sha256),
        hex::encode(signature)
    ))
}

/// Reads a `boot.sig` strictly: exactly the three lines above, each ended
/// by `\n`. Hex may be in either case (an HSM wrapper writes the signature
/// for `rpi-eeprom-digest -H`, and its case is not specified).
pub fn parse_boot_sig(text: &str) -> Result<BootSig, SignError> {
    let malformed = |reason: String| SignError::Malformed { reason };
    let body = text
        .strip_suffix('\n')
        .ok_or_else(|| malformed("its last line is not ended by a newline".into()))?;
    let lines: Vec<&str> = body.split('\n').collect();
    if lines.len() != 3 {
        return Err(malformed(format!(
            "it has {} lines; expected 3 (sha256, `ts: SECONDS`, `rsa2048: SIGNATURE`)",
            lines.len()
        )));
    }
    let mut sha256 = [0u8; 32];
    decode_hex(lines[0], &mut sha256)
        .ok_or_else(|| malformed("line 1 is not a SHA-256 in 64 hex digits".into()))?;
    let ts = lines[1]
        .strip_prefix("ts: ")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| malformed("line 2 is not `ts: SECONDS`".into()))?;
    let mut signature = vec![0u8; SIGNATURE_LEN];
    lines[2]
        .strip_prefix("rsa2048: ")
        .and_then(|hex| decode_hex(hex, &mut signature))
        .ok_or_else(|| {
            malformed(format!(
                "line 3 is not `rsa2048: ` and {} hex digits",
                SIGNATURE_LEN * 2
            ))
        })?;
    Ok(BootSig {
        sha256,
        ts,
        signature,
    })
}

/// Fills `out` from exactly `2 * out.len()` hex digits.
fn decode_hex(text: &str, out: &mut [u8]) -> Option<()> {
    hex::decode_to_slice(text, out).ok()
}

/// Checks `boot_img` against `sig` as the bootloader does: the SHA-256
/// first, then the signature with the public key.
pub fn verify(boot_img: &[u8], sig: &BootSig, key: &PublicKey) -> Result<(), SignError> {
    let actual: [u8; 32] = Sha256::digest(boot_img).into();
    if actual != sig.sha256 {
        return Err(SignError::DigestMismatch {
            expected: hex::encode(sig.sha256),
            actual: hex::encode(actual),
        });
    }
    key.pkcs1v15_verify_prehash::<Sha256>(&actual, &sig.signature)
        .map_err(|source| SignError::BadSignature { source })
}

/// The public key as SPKI PEM (`BEGIN PUBLIC KEY`), what `openssl rsa
/// -pubout` writes and `rpi-eeprom-config --pubkey` and `openssl dgst
/// -verify` read.
pub fn public_key_pem(key: &PublicKey) -> String {
    key.to_public_key_pem(LineEnding::LF)
        // Encoding can fail only for a malformed key, which PublicKey's
        // constructors never make.
        .expect("an RSA public key encodes as SPKI")
}

#[cfg(test)]
#[path = "rpi_sign_tests.rs"]
mod tests;
