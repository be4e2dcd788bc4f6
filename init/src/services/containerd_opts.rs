//! `/etc/containerd/runtime-config.toml`, as LinuxKit's init reads it: how
//! containerd is started. `cliopts` is containerd's whole argument list
//! (split at white space); `stdout` and `stderr` are `"stdout"`,
//! `"stderr"` (the console) or an absolute file path. Other keys are
//! ignored. cairn keeps its own `--config` unless `cliopts` names one, and
//! a broken file is a warning (LinuxKit stops), so a typo never leaves the
//! system without services.

pub const PATH: &str = "/etc/containerd/runtime-config.toml";
/// Where a stream goes for `"stdout"` and `"stderr"`.
pub const CONSOLE: &str = "/dev/console";

/// How to start containerd; None fields keep cairn's defaults.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    pub cliopts: Option<Vec<String>>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
}

impl RuntimeConfig {
    /// The argument list after the program: `cliopts`, with cairn's
    /// `--config CONFIG` first unless they choose a config of their own.
    pub fn args(&self, config: &str) -> Vec<String> {
        let opts = self.cliopts.clone().unwrap_or_default();
        let own = opts
            .iter()
            .any(|o| o == "-c" || o == "--config" || o.starts_with("--config="));
        let mut args = Vec::new();
        if !own {
            args.extend(["--config".to_string(), config.to_string()]);
        }
        args.extend(opts);
        args
    }
}

/// Parses the file: `key = "string"` lines, `#` comments, tables ignored.
pub fn parse(text: &str) -> Result<RuntimeConfig, String> {
    let mut out = RuntimeConfig::default();
    let mut in_table = false;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            in_table = true;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {}: expected `key = \"value\"`", n + 1));
        };
        let key = key.trim().trim_matches('"');
        if in_table || !["cliopts", "stdout", "stderr"].contains(&key) {
            continue;
        }
        let value = string(value.trim())
            .ok_or_else(|| format!("line {}: {key} must be a quoted string", n + 1))?;
        match key {
            "cliopts" => {
                out.cliopts = Some(value.split_whitespace().map(String::from).collect());
            }
            _ => {
                let target = match value.as_str() {
                    "stdout" | "stderr" => CONSOLE.to_string(),
                    p if p.starts_with('/') => p.to_string(),
                    other => {
                        return Err(format!(
                            "line {}: {key} = {other:?}: use \"stdout\", \"stderr\" or an absolute path",
                            n + 1
                        ));
                    }
                };
                if key == "stdout" {
                    out.stdout = Some(target);
                } else {
                    out.stderr = Some(target);
                }
            }
        }
    }
    Ok(out)
}

/// A TOML basic or literal string, with a trailing comment allowed.
fn string(text: &str) -> Option<String> {
    let quote = text.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let mut out = String::new();
    let mut chars = text[1..].chars();
    while let Some(c) = chars.next() {
        match c {
            c if c == quote => {
                let rest = chars.as_str().trim();
                return (rest.is_empty() || rest.starts_with('#')).then_some(out);
            }
            '\\' if quote == '"' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                _ => return None,
            },
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{CONSOLE, RuntimeConfig, parse};

    #[test]
    fn linuxkits_keys_set_the_arguments_and_the_streams() {
        let c = parse(
            "# LinuxKit's example\ncliopts = \"--log-level debug\"\nstderr = \"/var/log/containerd.err\"\nstdout = \"stdout\"\n",
        )
        .unwrap();
        assert_eq!(
            c.args("/run/cairn/containerd.toml"),
            [
                "--config",
                "/run/cairn/containerd.toml",
                "--log-level",
                "debug"
            ]
        );
        assert_eq!(c.stdout.as_deref(), Some(CONSOLE));
        assert_eq!(c.stderr.as_deref(), Some("/var/log/containerd.err"));
    }

    #[test]
    fn a_config_of_their_own_replaces_cairns() {
        let c = parse("cliopts = '--config /etc/containerd/config.toml'").unwrap();
        assert_eq!(
            c.args("/run/x.toml"),
            ["--config", "/etc/containerd/config.toml"]
        );
        assert_eq!(
            RuntimeConfig::default().args("/run/x.toml"),
            ["--config", "/run/x.toml"]
        );
    }

    #[test]
    fn bad_values_are_errors_and_other_keys_are_ignored() {
        assert!(
            parse("stdout = \"somewhere\"")
                .unwrap_err()
                .contains("absolute path")
        );
        assert!(parse("cliopts = 3").unwrap_err().contains("quoted string"));
        assert_eq!(
            parse("other = 1\n[table]\nstdout = 2\n").unwrap(),
            RuntimeConfig::default()
        );
    }
}
