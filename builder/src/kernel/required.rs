//! The options cairn needs, from `kernel-configs/required.txt` (compiled in,
//! so the list and the binary cannot disagree). The file's header describes
//! its format.

use super::KernelError;

/// The list as shipped.
pub const REQUIRED_TXT: &str = include_str!("../../../kernel-configs/required.txt");

/// How an option must be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// `y`: built in.
    BuiltIn,
    /// `m`: built in or a module.
    Any,
    /// `want`: missing is a warning, not a failure.
    Wanted,
}

/// One line of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The feature group's name, e.g. `immutable-root`.
    pub feature: String,
    /// The option without `CONFIG_`.
    pub option: String,
    pub need: Need,
    /// `amd64` or `arm64`; None for every architecture.
    pub arch: Option<String>,
    /// The module's name when the option is tristate.
    pub module: Option<String>,
    pub reason: String,
}

impl Requirement {
    pub fn applies_to(&self, arch: &str) -> bool {
        self.arch.as_deref().is_none_or(|a| a == arch)
    }
}

/// A feature group and what it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    pub name: String,
    pub description: String,
}

/// The whole list, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredList {
    pub features: Vec<Feature>,
    pub options: Vec<Requirement>,
}

/// The architectures the list knows.
pub const ARCHS: [&str; 2] = ["amd64", "arm64"];

impl RequiredList {
    /// The list compiled into cairn.
    pub fn builtin() -> Result<RequiredList, KernelError> {
        RequiredList::parse(REQUIRED_TXT)
    }

    pub fn parse(text: &str) -> Result<RequiredList, KernelError> {
        let mut features: Vec<Feature> = Vec::new();
        let mut options = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |reason: &str| KernelError::RequiredList {
                line: n + 1,
                reason: reason.to_string(),
            };
            if let Some(rest) = line.strip_prefix('[') {
                let (name, description) = rest.split_once(']').ok_or_else(|| bad("no `]`"))?;
                features.push(Feature {
                    name: name.trim().to_string(),
                    description: description.trim().to_string(),
                });
                continue;
            }
            let feature = features
                .last()
                .ok_or_else(|| bad("an option before the first [feature]"))?;
            let mut words = line.split_whitespace();
            let mut next = |what: &str| words.next().ok_or_else(|| bad(what));
            let option = next("no option")?.to_string();
            let need = match next("no NEED")? {
                "y" => Need::BuiltIn,
                "m" => Need::Any,
                "want" => Need::Wanted,
                _ => return Err(bad("NEED must be y, m or want")),
            };
            let arch = match next("no ARCH")? {
                "all" => None,
                a if ARCHS.contains(&a) => Some(a.to_string()),
                _ => return Err(bad("ARCH must be all, amd64 or arm64")),
            };
            let module = match next("no MODULE")? {
                "-" => None,
                m => Some(m.to_string()),
            };
            let reason = words.collect::<Vec<_>>().join(" ");
            if reason.is_empty() {
                return Err(bad("no reason"));
            }
            options.push(Requirement {
                feature: feature.name.clone(),
                option,
                need,
                arch,
                module,
                reason,
            });
        }
        Ok(RequiredList { features, options })
    }

    /// The requirements for one architecture, in file order.
    pub fn for_arch<'a>(&'a self, arch: &'a str) -> impl Iterator<Item = &'a Requirement> + 'a {
        self.options.iter().filter(move |r| r.applies_to(arch))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::kernel::dotconfig::{KernelConfig, Setting};

    fn list() -> RequiredList {
        RequiredList::builtin().expect("kernel-configs/required.txt parses")
    }

    #[test]
    fn the_shipped_list_parses_with_a_reason_for_every_option() {
        let list = list();
        assert!(list.options.len() > 50);
        assert!(list.options.iter().all(|r| r.reason.len() > 10));
        let names: BTreeSet<&str> = list.features.iter().map(|f| f.name.as_str()).collect();
        for f in [
            "boot",
            "containers",
            "immutable-root",
            "measured-boot",
            "virtio",
            "uefi",
            "raspberry-pi",
        ] {
            assert!(names.contains(f), "feature {f}");
        }
    }

    #[test]
    fn an_option_appears_at_most_once_per_architecture() {
        let list = list();
        for arch in ARCHS {
            let mut seen = BTreeSet::new();
            for r in list.for_arch(arch) {
                assert!(seen.insert(&r.option), "{} twice for {arch}", r.option);
            }
        }
    }

    #[test]
    fn every_option_that_may_be_a_module_names_it() {
        for r in list().options.iter().filter(|r| r.need == Need::Any) {
            assert!(
                r.module.is_some(),
                "{} may be a module but names none",
                r.option
            );
        }
    }

    /// The fragments for people building their own kernel set every option
    /// of their architecture to y, so they cannot drift from the list.
    #[test]
    fn each_arch_fragment_builds_in_every_option_of_its_arch() {
        let list = list();
        for (arch, text) in [
            (
                "amd64",
                include_str!("../../../kernel-configs/x86_64.config"),
            ),
            (
                "arm64",
                include_str!("../../../kernel-configs/arm64.config"),
            ),
        ] {
            let fragment = KernelConfig::parse(text);
            let mut wanted = BTreeSet::new();
            for r in list.for_arch(arch) {
                assert_eq!(
                    fragment.get(&r.option),
                    Some(&Setting::BuiltIn),
                    "{arch} fragment: CONFIG_{}",
                    r.option
                );
                wanted.insert(r.option.as_str());
            }
            for line in text.lines().filter(|l| l.starts_with("CONFIG_")) {
                let option = line.trim_start_matches("CONFIG_").split('=').next();
                assert!(
                    option.is_some_and(|o| wanted.contains(o)),
                    "{arch} fragment sets {line}, which required.txt does not list"
                );
            }
        }
    }

    #[test]
    fn malformed_lines_are_reported_with_their_line_number() {
        for (text, line, reason) in [
            ("X y all - reason here\n", 1, "before the first"),
            ("[f] d\n\nX maybe all - reason\n", 3, "NEED must be"),
            ("[f] d\nX y riscv - reason\n", 2, "ARCH must be"),
            ("[f] d\nX y all -\n", 2, "no reason"),
            ("[f d\n", 1, "no `]`"),
        ] {
            match RequiredList::parse(text) {
                Err(KernelError::RequiredList { line: l, reason: r }) => {
                    assert_eq!(l, line, "{text:?}");
                    assert!(r.contains(reason), "{text:?}: {r}");
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }
}
