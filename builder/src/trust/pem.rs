//! Just enough PEM inspection to tell the user what kind of key a file
//! holds (public, private, another algorithm) before decoding it.

use ed25519_dalek::pkcs8::{ALGORITHM_OID, ObjectIdentifier};

use super::TrustError;

type Result<T> = std::result::Result<T, TrustError>;

/// The label and text of the first PEM block, so that the caller can say
/// what kind of key it got before trying to decode it.
pub(super) fn pem_block<'a>(pem: &'a str, origin: &str) -> Result<(&'a str, &'a str)> {
    let not_pem = |reason: &str| TrustError::NotPem {
        origin: origin.to_string(),
        reason: reason.to_string(),
    };
    let start = pem
        .find("-----BEGIN ")
        .ok_or_else(|| not_pem("no -----BEGIN line"))?;
    let rest = &pem[start + "-----BEGIN ".len()..];
    let label_end = rest
        .find("-----")
        .ok_or_else(|| not_pem("the -----BEGIN line is not closed"))?;
    let label = &rest[..label_end];
    let end_marker = format!("-----END {label}-----");
    let end = pem[start..]
        .find(&end_marker)
        .ok_or_else(|| not_pem(&format!("no {end_marker} line")))?;
    Ok((label, &pem[start..start + end + end_marker.len()]))
}

pub(super) fn check_algorithm(oid: ObjectIdentifier, origin: &str) -> Result<()> {
    if oid == ALGORITHM_OID {
        return Ok(());
    }
    let algorithm = match oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" => "RSA".to_string(),
        "1.2.840.10045.2.1" => "ECDSA".to_string(),
        "1.3.101.113" => "Ed448".to_string(),
        "1.3.101.110" => "X25519".to_string(),
        other => format!("OID {other}"),
    };
    Err(TrustError::NotEd25519 {
        origin: origin.to_string(),
        algorithm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_block_is_found_after_leading_text_with_its_label() {
        let text = "comment\n-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\ntrailer";
        let (label, block) = pem_block(text, "k").unwrap();
        assert_eq!(label, "PUBLIC KEY");
        assert!(block.starts_with("-----BEGIN") && block.ends_with("KEY-----"));
    }

    #[test]
    fn unknown_algorithms_are_named_by_oid() {
        let oid = ObjectIdentifier::new_unwrap("1.2.3.4");
        let err = check_algorithm(oid, "k.pub").unwrap_err();
        assert!(err.to_string().contains("OID 1.2.3.4"), "{err}");
        assert!(check_algorithm(ALGORITHM_OID, "k.pub").is_ok());
    }
}
