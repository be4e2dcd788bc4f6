//! A .config held against the required list: per option built in, module or
//! missing, whether that is good enough, and the modules the init must load.

use std::fmt::Write as _;

use super::dotconfig::{KernelConfig, Setting};
use super::required::{Need, RequiredList, Requirement};

/// How the kernel has an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    BuiltIn,
    Module,
    Missing,
}

/// Whether the state meets the need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// A wanted option is missing.
    Warn,
    /// A required option is missing, or a module where it must be built in.
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub requirement: Requirement,
    pub state: State,
    pub outcome: Outcome,
}

/// Every requirement of one architecture against one .config.
#[derive(Debug, Clone)]
pub struct Report {
    pub arch: String,
    pub list: RequiredList,
    pub verdicts: Vec<Verdict>,
}

fn state(config: &KernelConfig, option: &str) -> State {
    match config.get(option) {
        Some(Setting::BuiltIn) => State::BuiltIn,
        Some(Setting::Module) => State::Module,
        // Only tristate and bool options matter here; a value means "set".
        Some(Setting::Value(v)) if !v.is_empty() => State::BuiltIn,
        _ => State::Missing,
    }
}

fn outcome(need: Need, state: State) -> Outcome {
    match (need, state) {
        (_, State::BuiltIn) | (Need::Any | Need::Wanted, State::Module) => Outcome::Ok,
        (Need::Wanted, State::Missing) => Outcome::Warn,
        (Need::BuiltIn, State::Module) | (Need::BuiltIn | Need::Any, State::Missing) => {
            Outcome::Fail
        }
    }
}

/// Checks `config` against the requirements of `arch` in `list`.
pub fn check(config: &KernelConfig, list: &RequiredList, arch: &str) -> Report {
    let verdicts = list
        .for_arch(arch)
        .map(|r| {
            let state = state(config, &r.option);
            Verdict {
                requirement: r.clone(),
                state,
                outcome: outcome(r.need, state),
            }
        })
        .collect();
    Report {
        arch: arch.to_string(),
        list: list.clone(),
        verdicts,
    }
}

impl Report {
    pub fn failures(&self) -> impl Iterator<Item = &Verdict> {
        self.verdicts.iter().filter(|v| v.outcome == Outcome::Fail)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Verdict> {
        self.verdicts.iter().filter(|v| v.outcome == Outcome::Warn)
    }

    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The modules the init must load, in the list's order (a module after
    /// those it needs from the list; the rest come from modules.dep).
    pub fn modules(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for v in &self.verdicts {
            if v.state == State::Module
                && let Some(m) = v.requirement.module.as_deref()
                && !out.contains(&m)
            {
                out.push(m);
            }
        }
        out
    }

    /// The table `cairn kernel check` prints: one block per feature.
    pub fn table(&self) -> String {
        let width = self
            .verdicts
            .iter()
            .map(|v| v.requirement.option.len())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for feature in &self.list.features {
            let rows: Vec<&Verdict> = self
                .verdicts
                .iter()
                .filter(|v| v.requirement.feature == feature.name)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(out, "{}: {}", feature.name, feature.description);
            for v in rows {
                let _ = writeln!(out, "  {:<width$}  {}", v.requirement.option, describe(v));
            }
            out.push('\n');
        }
        let modules = self.modules();
        if modules.is_empty() {
            out.push_str("modules the init must load: none\n");
        } else {
            let _ = writeln!(
                out,
                "modules the init must load, in order: {}",
                modules.join(" ")
            );
        }
        out
    }
}

fn describe(v: &Verdict) -> String {
    let r = &v.requirement;
    let module = r.module.as_deref().unwrap_or("?");
    match (v.state, v.outcome) {
        (State::BuiltIn, _) => "built in".to_string(),
        (State::Module, Outcome::Fail) => {
            format!("MODULE {module}, must be built in (=y): {}", r.reason)
        }
        (State::Module, _) => format!("module {module}"),
        (State::Missing, Outcome::Warn) => format!("missing (wanted: {})", r.reason),
        (State::Missing, _) => format!("MISSING: {}", r.reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "\
[root] the root
SQUASHFS    m     all    squashfs    root image
SQUASHFS_ZSTD y   all    -           zstd squashfs
BLK_DEV_DM  m     all    dm-mod      device mapper
DM_VERITY   m     all    dm-verity   verity
DM_INIT     want  all    -           no init help
[pi] boards
MMC_BCM2835 m     arm64  bcm2835     Pi 3 SD
DEVTMPFS    y     all    -           /dev
";

    fn report(config: &str, arch: &str) -> Report {
        let list = RequiredList::parse(LIST).expect("test list");
        check(&KernelConfig::parse(config), &list, arch)
    }

    const GOOD: &str = "CONFIG_SQUASHFS=m\nCONFIG_SQUASHFS_ZSTD=y\nCONFIG_BLK_DEV_DM=m\n\
        CONFIG_DM_VERITY=y\n# CONFIG_DM_INIT is not set\nCONFIG_DEVTMPFS=y\n";

    #[test]
    fn modules_and_built_in_options_pass_where_modules_are_allowed() {
        let r = report(GOOD, "amd64");
        assert!(r.passed());
        assert_eq!(r.warnings().count(), 1);
        assert_eq!(r.modules(), ["squashfs", "dm-mod"]);
    }

    #[test]
    fn a_missing_required_option_fails() {
        let r = report(&GOOD.replace("CONFIG_DM_VERITY=y", ""), "amd64");
        let failed: Vec<&str> = r
            .failures()
            .map(|v| v.requirement.option.as_str())
            .collect();
        assert_eq!(failed, ["DM_VERITY"]);
        assert!(r.table().contains("MISSING: verity"));
    }

    #[test]
    fn a_module_where_built_in_is_required_fails() {
        let r = report(&GOOD.replace("DEVTMPFS=y", "DEVTMPFS=m"), "amd64");
        let failed: Vec<&str> = r
            .failures()
            .map(|v| v.requirement.option.as_str())
            .collect();
        assert_eq!(failed, ["DEVTMPFS"]);
        assert!(r.table().contains("must be built in (=y)"));
    }

    #[test]
    fn a_missing_wanted_option_only_warns() {
        let r = report(GOOD, "amd64");
        let warned: Vec<&str> = r
            .warnings()
            .map(|v| v.requirement.option.as_str())
            .collect();
        assert_eq!(warned, ["DM_INIT"]);
        assert!(r.table().contains("missing (wanted: no init help)"));
    }

    #[test]
    fn options_of_another_architecture_are_not_checked() {
        assert!(report(GOOD, "amd64").passed());
        let arm = report(GOOD, "arm64");
        let failed: Vec<&str> = arm
            .failures()
            .map(|v| v.requirement.option.as_str())
            .collect();
        assert_eq!(failed, ["MMC_BCM2835"]);
    }

    #[test]
    fn the_table_groups_options_by_feature_and_ends_with_the_modules() {
        let table = report(&format!("{GOOD}CONFIG_MMC_BCM2835=m\n"), "arm64").table();
        let root = table.find("root: the root").expect("root block");
        let pi = table.find("pi: boards").expect("pi block");
        assert!(root < pi);
        assert!(
            table.contains("  SQUASHFS       module squashfs\n"),
            "{table}"
        );
        assert!(table.contains("  DEVTMPFS       built in\n"), "{table}");
        assert!(table.ends_with("modules the init must load, in order: squashfs dm-mod bcm2835\n"));
    }

    #[test]
    fn a_kernel_with_everything_built_in_needs_no_modules() {
        let all_y = GOOD.replace("=m", "=y");
        assert!(report(&all_y, "amd64").table().ends_with("load: none\n"));
    }
}
