//! Choosing platform manifests from an index. Platforms are written
//! `linux/<arch>[/<variant>]` or just `<arch>`; cairn only builds for linux.

use oci_spec::image::{Descriptor, ImageIndex};

/// `arm64/v8` for `linux/arm64/v8` or `arm64/v8`.
pub fn arch_part(platform: &str) -> &str {
    platform.strip_prefix("linux/").unwrap_or(platform)
}

/// Whether an index entry is the image for `platform`. A variant is compared
/// only when the caller names one, so `arm64` matches `arm64/v8`.
pub fn matches(entry: &Descriptor, platform: &str) -> bool {
    let Some(p) = entry.platform() else {
        return false;
    };
    let mut parts = arch_part(platform).splitn(2, '/');
    let arch = parts.next().unwrap_or_default();
    let variant = parts.next();
    p.os().to_string() == "linux"
        && p.architecture().to_string() == arch
        && variant.is_none_or(|v| p.variant().as_deref() == Some(v))
}

/// The platforms an index offers, for error messages: `linux/amd64, linux/arm64`.
pub fn list(index: &ImageIndex) -> String {
    let names: Vec<String> = index
        .manifests()
        .iter()
        .filter_map(|d| d.platform().as_ref())
        .map(|p| match p.variant() {
            Some(v) => format!("{}/{}/{v}", p.os(), p.architecture()),
            None => format!("{}/{}", p.os(), p.architecture()),
        })
        .collect();
    if names.is_empty() {
        "no platform entries".to_string()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(json: &str) -> Descriptor {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn arch_matches_with_or_without_os_and_variant() {
        let arm = entry(
            r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}"#,
        );
        assert!(matches(&arm, "arm64"));
        assert!(matches(&arm, "linux/arm64"));
        assert!(matches(&arm, "linux/arm64/v8"));
        assert!(!matches(&arm, "linux/arm64/v7"));
        assert!(!matches(&arm, "amd64"));
    }

    #[test]
    fn entries_without_platform_never_match() {
        let bare = entry(
            r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":1}"#,
        );
        assert!(!matches(&bare, "amd64"));
    }
}
