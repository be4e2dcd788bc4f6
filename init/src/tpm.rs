//! The one TPM 2.0 command the init sends, TPM2_PCR_Extend, encoded by hand
//! (TCG TPM 2.0 Library Part 3, big-endian) so that the static init needs no
//! TSS library: one SHA-256 digest, authorized by the empty password session
//! that PCRs 0-15 accept.

use std::io;

use crate::sys::Tpm;

const TPM_ST_SESSIONS: u16 = 0x8002;
const TPM_CC_PCR_EXTEND: u32 = 0x0000_0182;
const TPM_RS_PW: u32 = 0x4000_0009;
const TPM_ALG_SHA256: u16 = 0x000B;
/// Response header: tag, size, response code.
const RESPONSE_HEADER: usize = 10;

/// A failed extend.
#[derive(Debug, thiserror::Error)]
pub enum TpmError {
    #[error("cannot talk to the TPM at {device}: {source}")]
    Io {
        device: String,
        #[source]
        source: io::Error,
    },
    #[error("the TPM at {device} sent a response of {len} bytes, too short to read")]
    Short { device: String, len: usize },
    #[error(
        "the TPM at {device} refused TPM2_PCR_Extend of PCR {pcr} with response code {code:#05x} ({})",
        meaning(*code)
    )]
    Refused { device: String, pcr: u32, code: u32 },
}

/// The bytes of TPM2_PCR_Extend(`pcr`, one SHA-256 `digest`).
pub fn pcr_extend_command(pcr: u32, digest: &[u8; 32]) -> Vec<u8> {
    let mut c = Vec::with_capacity(65);
    c.extend_from_slice(&TPM_ST_SESSIONS.to_be_bytes());
    // The size, filled in below.
    c.extend_from_slice(&0u32.to_be_bytes());
    c.extend_from_slice(&TPM_CC_PCR_EXTEND.to_be_bytes());
    // pcrHandle: PCR n is handle n.
    c.extend_from_slice(&pcr.to_be_bytes());
    // The authorization area: one password session with an empty nonce,
    // no attributes and an empty password (9 bytes).
    c.extend_from_slice(&9u32.to_be_bytes());
    c.extend_from_slice(&TPM_RS_PW.to_be_bytes());
    c.extend_from_slice(&0u16.to_be_bytes());
    c.push(0);
    c.extend_from_slice(&0u16.to_be_bytes());
    // TPML_DIGEST_VALUES with one TPMT_HA.
    c.extend_from_slice(&1u32.to_be_bytes());
    c.extend_from_slice(&TPM_ALG_SHA256.to_be_bytes());
    c.extend_from_slice(digest);
    let len = u32::try_from(c.len()).unwrap_or(u32::MAX).to_be_bytes();
    c[2..6].copy_from_slice(&len);
    c
}

/// The response code of a response; 0 is success.
pub fn response_code(response: &[u8]) -> Option<u32> {
    response.get(..RESPONSE_HEADER)?;
    cairn_boot::bytes::be_u32(response, 6)
}

/// What a response code means, for the console.
pub fn meaning(code: u32) -> &'static str {
    // Format-one codes carry a parameter, handle or session number in
    // bits 6-11; the error itself is in the low 6 bits plus bit 7.
    let base = if code & 0x80 != 0 { code & 0xBF } else { code };
    match base {
        0x000 => "success",
        0x100 => "TPM_RC_INITIALIZE: the TPM was not started (TPM2_Startup missing)",
        0x101 => "TPM_RC_FAILURE: the TPM is in failure mode",
        0x143 => "TPM_RC_COMMAND_CODE: the TPM does not know PCR_Extend",
        0x907 => "TPM_RC_LOCALITY: PCR 15 cannot be extended from this locality",
        0x921 => "TPM_RC_LOCKOUT: the TPM is in dictionary-attack lockout",
        0x908 => "TPM_RC_YIELDED: the TPM was interrupted; try again",
        0x922 => "TPM_RC_RETRY: the TPM was busy; try again",
        0x083 => "TPM_RC_HASH: the TPM has no SHA-256 PCR bank",
        0x08B => "TPM_RC_HANDLE: the TPM has no such PCR",
        0x08E => "TPM_RC_AUTH_FAIL: PCR 15 has an authorization value set",
        0x0A2 => "TPM_RC_BAD_AUTH: PCR 15 has an authorization value set",
        _ => "see TCG TPM 2.0 Part 2, TPM_RC",
    }
}

/// Extends `pcr` with `digest` through the TPM `sys` opened as `device`.
pub fn extend(
    sys: &mut impl Tpm,
    device: &str,
    pcr: u32,
    digest: &[u8; 32],
) -> Result<(), TpmError> {
    let response = sys
        .tpm_transmit(&pcr_extend_command(pcr, digest))
        .map_err(|source| TpmError::Io {
            device: device.into(),
            source,
        })?;
    match response_code(&response) {
        Some(0) => Ok(()),
        Some(code) => Err(TpmError::Refused {
            device: device.into(),
            pcr,
            code,
        }),
        None => Err(TpmError::Short {
            device: device.into(),
            len: response.len(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcr_extend_command_has_the_part_3_layout_for_pcr_15() {
        let digest = [0xAB; 32];
        let c = pcr_extend_command(15, &digest);
        let mut want = hex::decode(concat!(
            "8002",     // TPM_ST_SESSIONS
            "00000041", // 65 bytes
            "00000182", // TPM_CC_PCR_Extend
            "0000000f", // PCR 15
            "00000009", // authorization size
            "40000009", // TPM_RS_PW
            "0000",     // empty nonce
            "00",       // session attributes
            "0000",     // empty password
            "00000001", // one digest
            "000b",     // SHA-256
        ))
        .expect("hex");
        want.extend_from_slice(&digest);
        assert_eq!(c, want);
        assert_eq!(c.len(), 65);
    }

    #[test]
    fn response_code_is_read_from_the_header_and_short_responses_give_none() {
        let ok = hex::decode("80020000001300000000000000000000010000").expect("hex");
        assert_eq!(response_code(&ok), Some(0));
        let refused = hex::decode("80010000000a00000100").expect("hex");
        assert_eq!(response_code(&refused), Some(0x100));
        assert_eq!(response_code(&refused[..9]), None);
    }

    #[test]
    fn format_one_codes_are_named_without_their_parameter_number() {
        // TPM_RC_HANDLE for handle 1: 0x08B | 0x100 (bit 8: handle).
        assert!(meaning(0x18B).starts_with("TPM_RC_HANDLE"));
        assert!(meaning(0x100).starts_with("TPM_RC_INITIALIZE"));
        assert!(meaning(0x7FF).starts_with("see TCG"));
    }

    #[test]
    fn a_refusal_names_the_device_the_pcr_and_the_code() {
        let e = TpmError::Refused {
            device: "/dev/tpmrm0".into(),
            pcr: 15,
            code: 0x101,
        };
        assert_eq!(
            e.to_string(),
            "the TPM at /dev/tpmrm0 refused TPM2_PCR_Extend of PCR 15 with response code 0x101 \
             (TPM_RC_FAILURE: the TPM is in failure mode)"
        );
    }
}
