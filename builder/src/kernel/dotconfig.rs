//! The kernel's `.config`: `CONFIG_X=y`, `CONFIG_X=m`, `CONFIG_X="text"`,
//! `CONFIG_X=123` and `# CONFIG_X is not set`.

use std::collections::BTreeMap;

/// How a .config sets one option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// `=y`
    BuiltIn,
    /// `=m`
    Module,
    /// `# ... is not set`, or `=n`
    NotSet,
    /// A string (unquoted here), number or hex value.
    Value(String),
}

/// A parsed .config, keyed by option name without the `CONFIG_` prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelConfig {
    settings: BTreeMap<String, Setting>,
}

const PREFIX: &str = "CONFIG_";

impl KernelConfig {
    /// Parses a .config. Lines of any other form (comments, blank lines) are
    /// skipped; a later line for the same option wins, as in Kconfig.
    pub fn parse(text: &str) -> KernelConfig {
        let mut settings = BTreeMap::new();
        for line in text.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("# ") {
                if let Some(option) = rest
                    .strip_suffix(" is not set")
                    .and_then(|o| o.strip_prefix(PREFIX))
                    .filter(|o| is_symbol(o))
                {
                    settings.insert(option.to_string(), Setting::NotSet);
                }
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let Some(option) = key.strip_prefix(PREFIX).filter(|o| is_symbol(o)) else {
                continue;
            };
            let setting = match value {
                "y" => Setting::BuiltIn,
                "m" => Setting::Module,
                "n" => Setting::NotSet,
                v => Setting::Value(unquote(v)),
            };
            settings.insert(option.to_string(), setting);
        }
        KernelConfig { settings }
    }

    /// The option's setting; None when the .config does not mention it
    /// (its dependencies are off, so it is not set either).
    pub fn get(&self, option: &str) -> Option<&Setting> {
        self.settings.get(option)
    }

    /// How many options the .config mentions.
    pub fn len(&self) -> usize {
        self.settings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.settings.is_empty()
    }
}

fn is_symbol(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Kconfig strings are double-quoted with `\"` and `\\` escapes.
fn unquote(v: &str) -> String {
    let Some(inner) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return v.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
#
# Automatically generated file; DO NOT EDIT.
#
CONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14) 12.2.0\"
CONFIG_GCC_VERSION=120200
CONFIG_SQUASHFS=m
CONFIG_SQUASHFS_ZSTD=y
# CONFIG_DM_INIT is not set
CONFIG_CMDLINE=\"say \\\"hi\\\" \\\\ there\"
CONFIG_ILLEGAL_ACCESS=n
CONFIG_PHYSICAL_START=0x1000000

CONFIG_SQUASHFS=y
not a config line
# CONFIG_ a comment is not set
";

    #[test]
    fn each_value_form_parses_to_its_setting() {
        let c = KernelConfig::parse(SAMPLE);
        assert_eq!(c.get("SQUASHFS_ZSTD"), Some(&Setting::BuiltIn));
        assert_eq!(c.get("DM_INIT"), Some(&Setting::NotSet));
        assert_eq!(c.get("ILLEGAL_ACCESS"), Some(&Setting::NotSet));
        assert_eq!(c.get("GCC_VERSION"), Some(&Setting::Value("120200".into())));
        assert_eq!(
            c.get("PHYSICAL_START"),
            Some(&Setting::Value("0x1000000".into()))
        );
        assert_eq!(c.get("NOT_MENTIONED"), None);
    }

    #[test]
    fn strings_are_unquoted_and_unescaped() {
        let c = KernelConfig::parse(SAMPLE);
        assert_eq!(
            c.get("CC_VERSION_TEXT"),
            Some(&Setting::Value("gcc-12 (Debian 12.2.0-14) 12.2.0".into()))
        );
        assert_eq!(
            c.get("CMDLINE"),
            Some(&Setting::Value("say \"hi\" \\ there".into()))
        );
    }

    #[test]
    fn a_later_line_overrides_an_earlier_one() {
        let c = KernelConfig::parse(SAMPLE);
        assert_eq!(c.get("SQUASHFS"), Some(&Setting::BuiltIn));
    }

    #[test]
    fn comments_and_other_lines_are_skipped() {
        let c = KernelConfig::parse(SAMPLE);
        assert_eq!(c.len(), 8);
        assert!(KernelConfig::parse("hello\n# just a comment\n").is_empty());
    }
}
