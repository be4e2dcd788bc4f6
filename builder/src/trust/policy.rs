//! The trust policy: which images must be signed, and by which keys.
//!
//! It is built at the CLI edge from a config's `trust:` section, so this
//! module does not depend on the config types. An image is covered when a
//! key rule's pattern or a LinuxKit-style `org`/`image` entry matches its
//! repository. A covered image needs a valid signature by a key of a rule
//! whose patterns match it; an image covered only through `org`/`image`
//! may be signed by any of the policy's keys.
//!
//! An image nothing covers is refused unless an `allow_unsigned` pattern
//! (from the config or the command line) names it: trust is the default,
//! and using an image without a signature is a choice written down.

use super::TrustError;
use super::key::PublicKey;
use super::pattern;
use super::signature;
use crate::oci::{Digest, ImageRef, Store};

/// A policy: keys with the images they vouch for, plus LinuxKit's lists.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub rules: Vec<Rule>,
    /// Docker Hub organisations (or `registry/namespace`) whose images must be signed.
    pub org: Vec<String>,
    /// Repositories whose images must be signed, tags ignored.
    pub image: Vec<String>,
    /// Images that may be used unsigned when no rule or list covers them.
    pub allow_unsigned: Vec<AllowUnsigned>,
}

/// A pattern of images that may be used without a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowUnsigned {
    pub pattern: String,
    /// Where it was given, e.g. `trust.allow_unsigned[0]` or `--allow-unsigned`.
    pub origin: String,
}

/// A trusted key and the repositories it signs.
#[derive(Debug, Clone)]
pub struct Rule {
    pub key: PublicKey,
    /// Where the key was configured, e.g. `trust.keys[0] (release)`.
    pub origin: String,
    /// Repository patterns (see [`pattern`]); empty means the key only
    /// counts for images covered through `org`/`image`.
    pub patterns: Vec<String>,
    /// Whether this is the development key (announced whenever it vouches).
    pub development: bool,
}

/// The outcome of a policy check that did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No rule or list entry covers the image, and an `allow_unsigned`
    /// pattern (named by its origin) lets it be used unchecked.
    AllowedUnsigned { origin: String },
    /// A valid signature by this key (id and configured origin) was found.
    Verified {
        key: String,
        origin: String,
        /// The key is the development key of this machine.
        development: bool,
    },
}

/// Why an image is covered: the first matching entry, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    /// Rules whose patterns match; when empty, the image is covered only by
    /// `reason` and any rule's key may sign it.
    pub rules: Vec<usize>,
    pub reason: String,
}

impl Policy {
    /// Whether the policy requires `image` to be signed, and through what.
    pub fn coverage(&self, image: &ImageRef) -> Option<Coverage> {
        let repo = image.repo_name();
        let rules: Vec<usize> = self
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.patterns.iter().any(|p| pattern::matches(p, &repo)))
            .map(|(i, _)| i)
            .collect();
        if let Some(&first) = rules.first() {
            let reason = format!("matched by the images of {}", self.rules[first].origin);
            return Some(Coverage { rules, reason });
        }
        let org = self
            .org
            .iter()
            .find(|o| pattern::matches(&pattern::org_pattern(o), &repo))
            .map(|o| format!("trust.org lists {o}"));
        let listed = org.or_else(|| {
            self.image
                .iter()
                .find(|i| pattern::matches(i, &repo))
                .map(|i| format!("trust.image lists {i}"))
        });
        listed.map(|reason| Coverage {
            rules: Vec::new(),
            reason,
        })
    }

    /// Checks `digest` of `image` against the policy.
    pub fn check(
        &self,
        store: &Store,
        image: &ImageRef,
        digest: &Digest,
    ) -> Result<Verdict, TrustError> {
        let Some(coverage) = self.coverage(image) else {
            return self.uncovered(image, digest);
        };
        let rules: Vec<&Rule> = if coverage.rules.is_empty() {
            self.rules.iter().collect()
        } else {
            coverage.rules.iter().map(|&i| &self.rules[i]).collect()
        };
        if rules.is_empty() {
            return Err(TrustError::NoKeys {
                image: image.store_name(),
                digest: digest.clone(),
                covered_by: coverage.reason,
            });
        }
        let keys: Vec<PublicKey> = rules
            .iter()
            .map(|r| r.key.clone().with_origin(r.origin.clone()))
            .collect();
        let verified = signature::verify(store, image, digest, &keys)?;
        let rule = rules.iter().find(|r| r.key.fingerprint() == verified.key);
        Ok(Verdict::Verified {
            key: verified.key,
            origin: rule.map(|r| r.origin.clone()).unwrap_or_default(),
            development: rule.is_some_and(|r| r.development),
        })
    }

    /// An image no key vouches for: allowed only where a pattern says so.
    fn uncovered(&self, image: &ImageRef, digest: &Digest) -> Result<Verdict, TrustError> {
        let repo = image.repo_name();
        match self
            .allow_unsigned
            .iter()
            .find(|a| pattern::matches(&a.pattern, &repo))
        {
            Some(allowed) => Ok(Verdict::AllowedUnsigned {
                origin: format!("{} {}", allowed.origin, allowed.pattern),
            }),
            None => Err(TrustError::NotCovered {
                image: image.store_name(),
                digest: digest.clone(),
                repo: short_repo(&repo),
            }),
        }
    }
}

/// A repository name as a user would write it in a pattern: Docker Hub's
/// `docker.io/` and `library/` left out.
fn short_repo(repo: &str) -> String {
    let short = repo.strip_prefix("docker.io/").unwrap_or(repo);
    short.strip_prefix("library/").unwrap_or(short).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::SigningKey;
    use crate::trust::signature::tests::{image_in_store, store};

    fn rule(key: &SigningKey, origin: &str, patterns: &[&str]) -> Rule {
        Rule {
            key: key.public().clone(),
            origin: origin.to_string(),
            patterns: patterns.iter().map(|p| p.to_string()).collect(),
            development: false,
        }
    }

    fn keys() -> (SigningKey, SigningKey) {
        (
            SigningKey::generate().unwrap(),
            SigningKey::generate().unwrap(),
        )
    }

    #[test]
    fn image_matched_by_no_rule_or_list_is_refused_saying_how_to_trust_or_allow_it() {
        let (_d, s) = store();
        let (img, digest) = image_in_store(&s, "alpine:3.20", b"a");
        let (a, _) = keys();
        let policy = Policy {
            rules: vec![rule(&a, "trust.keys[0] (release)", &["cairn/*"])],
            org: vec!["linuxkit".into()],
            image: vec!["redis".into()],
            ..Policy::default()
        };
        let err = policy.check(&s, &img, &digest).unwrap_err();
        assert!(matches!(err, TrustError::NotCovered { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("docker.io/library/alpine:3.20"), "{msg}");
        assert!(msg.contains(&digest.to_string()), "{msg}");
        assert!(msg.contains("allow_unsigned: [\"alpine\"]"), "{msg}");
        assert!(msg.contains("--allow-unsigned alpine"), "{msg}");
    }

    #[test]
    fn uncovered_image_named_by_allow_unsigned_is_used_unchecked_with_the_reason() {
        let (_d, s) = store();
        let (img, digest) = image_in_store(&s, "127.0.0.1:5000/tools/x:1", b"x");
        let policy = Policy {
            allow_unsigned: vec![
                AllowUnsigned {
                    pattern: "alpine".into(),
                    origin: "trust.allow_unsigned[0]".into(),
                },
                AllowUnsigned {
                    pattern: "127.0.0.1:5000/*".into(),
                    origin: "--allow-unsigned".into(),
                },
            ],
            ..Policy::default()
        };
        assert_eq!(
            policy.check(&s, &img, &digest).unwrap(),
            Verdict::AllowedUnsigned {
                origin: "--allow-unsigned 127.0.0.1:5000/*".into()
            }
        );
    }

    #[test]
    fn a_covered_image_must_be_signed_even_where_allow_unsigned_also_matches() {
        let (_d, s) = store();
        let (img, digest) = image_in_store(&s, "cairn/init:1", b"i");
        let (a, _) = keys();
        let policy = Policy {
            rules: vec![rule(&a, "trust.keys[0]", &["cairn/*"])],
            allow_unsigned: vec![AllowUnsigned {
                pattern: "*".into(),
                origin: "--allow-unsigned".into(),
            }],
            ..Policy::default()
        };
        let err = policy.check(&s, &img, &digest).unwrap_err();
        assert!(matches!(err, TrustError::Unsigned { .. }), "{err}");
    }

    #[test]
    fn image_signed_by_the_key_of_its_matching_rule_is_verified_with_origin() {
        let (_d, s) = store();
        let (img, digest) = image_in_store(&s, "cairn/init:1", b"i");
        let (a, b) = keys();
        crate::trust::sign(&s, &img, &b).unwrap();
        let policy = Policy {
            rules: vec![
                rule(&a, "trust.keys[0] (other)", &["ghcr.io/*"]),
                rule(&b, "trust.keys[1] (release)", &["docker.io/cairn/*"]),
            ],
            ..Policy::default()
        };
        let verdict = policy.check(&s, &img, &digest).unwrap();
        assert_eq!(
            verdict,
            Verdict::Verified {
                key: b.public().fingerprint().to_string(),
                origin: "trust.keys[1] (release)".into(),
                development: false,
            }
        );
    }

    #[test]
    fn signature_by_a_key_of_a_rule_that_does_not_match_is_refused() {
        let (_d, s) = store();
        let (img, digest) = image_in_store(&s, "cairn/init:1", b"i");
        let (a, b) = keys();
        crate::trust::sign(&s, &img, &a).unwrap();
        let policy = Policy {
            rules: vec![
                rule(&a, "trust.keys[0] (ghcr)", &["ghcr.io/*"]),
                rule(&b, "trust.keys[1] (release)", &["cairn/*"]),
            ],
            org: vec!["cairn".into()],
            ..Policy::default()
        };
        let err = policy.check(&s, &img, &digest).unwrap_err();
        assert!(matches!(err, TrustError::OtherKey { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("trust.keys[1] (release)"), "{msg}");
        assert!(msg.contains(&digest.to_string()), "{msg}");
    }

    #[test]
    fn image_covered_only_by_org_may_be_signed_by_any_configured_key() {
        let (_d, s) = store();
        let (img, digest) = image_in_store(&s, "linuxkit/init:v1", b"i");
        let (a, b) = keys();
        crate::trust::sign(&s, &img, &b).unwrap();
        let policy = Policy {
            rules: vec![
                rule(&a, "trust.keys[0]", &["ghcr.io/*"]),
                rule(&b, "trust.keys[1]", &[]),
            ],
            org: vec!["linuxkit".into()],
            ..Policy::default()
        };
        assert!(matches!(
            policy.check(&s, &img, &digest).unwrap(),
            Verdict::Verified { origin, .. } if origin == "trust.keys[1]"
        ));
    }

    #[test]
    fn covered_unsigned_image_is_refused_naming_image_digest_and_keys() {
        let (_d, s) = store();
        let (img, digest) = image_in_store(&s, "redis:7", b"r");
        let (a, _) = keys();
        let policy = Policy {
            rules: vec![rule(&a, "trust.keys[0] (release)", &[])],
            image: vec!["redis".into()],
            ..Policy::default()
        };
        let err = policy.check(&s, &img, &digest).unwrap_err();
        assert!(matches!(err, TrustError::Unsigned { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("docker.io/library/redis:7"), "{msg}");
        assert!(msg.contains(&digest.to_string()), "{msg}");
        assert!(msg.contains(a.public().fingerprint()), "{msg}");
        assert!(msg.contains("trust.keys[0] (release)"), "{msg}");
    }

    #[test]
    fn covered_image_without_any_configured_key_asks_for_trust_keys() {
        let (_d, s) = store();
        let (img, digest) = image_in_store(&s, "linuxkit/init:v1", b"i");
        let policy = Policy {
            org: vec!["linuxkit".into()],
            ..Policy::default()
        };
        let err = policy.check(&s, &img, &digest).unwrap_err();
        assert!(matches!(err, TrustError::NoKeys { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("trust.keys"), "{msg}");
        assert!(msg.contains("trust.org lists linuxkit"), "{msg}");
    }
}
