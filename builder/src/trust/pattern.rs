//! Repository-name patterns of the trust policy.
//!
//! A pattern is written like an image reference, short or long, with `*`
//! standing for any run of characters (including `/`). It is normalized the
//! way references are (`cairn/*` is `docker.io/cairn/*`, `alpine` is
//! `docker.io/library/alpine`) and then matched against the normalized
//! repository name of an image, so the same image never slips through one
//! spelling and is caught by another. Tags and digests in a pattern are
//! ignored: the policy is about repositories.

const DOCKER_HUB: &str = "docker.io";

/// The normalized form of a pattern.
pub fn normalize(pattern: &str) -> String {
    let pattern = pattern.trim();
    let pattern = pattern.split_once('@').map_or(pattern, |(p, _)| p);
    let pattern = strip_tag(pattern);
    if pattern == "*" {
        return pattern.to_string();
    }
    let (registry, rest) = match pattern.split_once('/') {
        Some((first, rest)) if is_registry(first) => (canonical_registry(first), rest),
        _ => (DOCKER_HUB, pattern),
    };
    // Official Docker Hub images live under `library/`; `*` alone after the
    // registry means the whole registry, not its `library/` part.
    if registry == DOCKER_HUB && !rest.contains('/') && rest != "*" {
        format!("{registry}/library/{rest}")
    } else {
        format!("{registry}/{rest}")
    }
}

/// Whether a (normalized) pattern matches a normalized repository name.
pub fn matches(pattern: &str, repository: &str) -> bool {
    glob(normalize(pattern).as_bytes(), repository.as_bytes())
}

/// The pattern covering every repository of a Docker Hub organisation (or,
/// written with a registry, of that registry's namespace).
pub fn org_pattern(org: &str) -> String {
    format!("{}/*", org.trim().trim_end_matches('/'))
}

/// A tag follows the last `:` of the last path component; a `:` before any
/// `/` is a registry port.
fn strip_tag(pattern: &str) -> &str {
    let last_slash = pattern.rfind('/').map_or(0, |i| i + 1);
    match pattern[last_slash..].find(':') {
        Some(colon) if last_slash > 0 || !looks_like_host_port(pattern) => {
            &pattern[..last_slash + colon]
        }
        _ => pattern,
    }
}

fn looks_like_host_port(s: &str) -> bool {
    s.rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        && s.contains('.')
}

/// Docker's rule: the first component is a registry when it has a dot, a
/// port or is `localhost`.
fn is_registry(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first == "localhost"
}

fn canonical_registry(registry: &str) -> &str {
    match registry {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB,
        other => other,
    }
}

/// Glob matching with `*` only, linear time: on a mismatch, let the most
/// recent `*` swallow one more character and retry from there.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_patterns_are_normalized_like_references() {
        assert_eq!(normalize("cairn/*"), "docker.io/cairn/*");
        assert_eq!(normalize("alpine"), "docker.io/library/alpine");
        assert_eq!(normalize("redis:7@sha256:abc"), "docker.io/library/redis");
        assert_eq!(
            normalize("index.docker.io/cairn/init"),
            "docker.io/cairn/init"
        );
        assert_eq!(normalize("127.0.0.1:5000/*"), "127.0.0.1:5000/*");
        assert_eq!(normalize("localhost/x:1"), "localhost/x");
        assert_eq!(normalize("ghcr.io/org/img:v1"), "ghcr.io/org/img");
        assert_eq!(normalize("docker.io/*"), "docker.io/*");
        assert_eq!(normalize("*"), "*");
    }

    #[test]
    fn org_pattern_covers_the_organisation_on_docker_hub_only() {
        let p = org_pattern("linuxkit");
        assert!(matches(&p, "docker.io/linuxkit/init"));
        assert!(matches(&p, "docker.io/linuxkit/sub/dir"));
        assert!(!matches(&p, "docker.io/library/linuxkit"));
        assert!(!matches(&p, "ghcr.io/linuxkit/init"));
        assert!(!matches(&p, "docker.io/linuxkitx/init"));
        assert!(matches(&org_pattern("ghcr.io/acme/"), "ghcr.io/acme/app"));
    }

    #[test]
    fn short_and_long_spellings_cover_the_same_images() {
        for p in ["cairn/*", "docker.io/cairn/*", "index.docker.io/cairn/*"] {
            assert!(matches(p, "docker.io/cairn/init"), "{p}");
            assert!(!matches(p, "docker.io/library/alpine"), "{p}");
            assert!(!matches(p, "ghcr.io/cairn/init"), "{p}");
        }
    }

    #[test]
    fn registry_pattern_covers_only_that_registry() {
        let p = "127.0.0.1:5000/*";
        assert!(matches(p, "127.0.0.1:5000/cairn/init"));
        assert!(!matches(p, "127.0.0.1:5001/cairn/init"));
        assert!(!matches(p, "docker.io/cairn/init"));
    }

    #[test]
    fn exact_pattern_covers_one_repository_whatever_the_tag() {
        assert!(matches("redis:7", "docker.io/library/redis"));
        assert!(matches("redis", "docker.io/library/redis"));
        assert!(!matches("redis", "docker.io/library/redis-cluster"));
        assert!(!matches("redis", "docker.io/other/redis"));
    }

    #[test]
    fn star_matches_any_run_including_slashes_and_nothing() {
        assert!(matches("*", "ghcr.io/a/b"));
        assert!(matches("ghcr.io/*/init", "ghcr.io/a/b/init"));
        assert!(!matches("ghcr.io/*/init", "ghcr.io/a/init-x"));
        assert!(matches("cairn/init*", "docker.io/cairn/init"));
        assert!(matches("cairn/*-dev", "docker.io/cairn/init-dev"));
        assert!(matches("redis*", "docker.io/library/redis-cluster"));
        assert!(!matches("cairn/*-dev", "docker.io/cairn/init-prod"));
        assert!(matches("docker.io/*", "docker.io/library/alpine"));
        assert!(glob(b"a**b", b"axxb"));
        assert!(!glob(b"a*b*c", b"abca_"));
    }
}
