//! The `rpi` section (cairn only): the Raspberry Pi board an `-f rpi` card
//! is for, the image with its VideoCore firmware, and the user's own
//! `config.txt` lines (device-tree overlays and parameters such as a TPM
//! HAT's). Lines that would change what cairn must set itself (the kernel,
//! its initramfs and command line, the device tree) are refused, because
//! the card's chain of trust runs through exactly those.

use serde::Deserialize;

use super::diag::Location;
use crate::arch::Board;

/// The image used when `rpi.firmware` is not set.
pub const DEFAULT_FIRMWARE: &str = "cairn/rpi-firmware:latest";

/// `rpi:` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Rpi {
    /// `rpi3` or `rpi4`.
    pub board: Option<String>,
    /// The image holding the firmware (default `cairn/rpi-firmware:latest`).
    pub firmware: Option<String>,
    /// Lines appended to config.txt, e.g. `dtoverlay=tpm-slb9670`.
    pub config: Vec<String>,
    /// Device-tree overlays (`.dtbo` files on the build machine, relative
    /// to the config file that names them) copied to `overlays/` on the
    /// boot partition, for `dtoverlay=` lines: Debian ships none.
    pub overlays: Vec<String>,
    #[serde(skip)]
    pub location: Location,
}

impl Rpi {
    /// The board, once the checker has accepted its name.
    pub fn board(&self) -> Option<Board> {
        self.board.as_deref().and_then(|b| b.parse().ok())
    }

    /// The firmware image: `rpi.firmware`, else cairn's package.
    pub fn firmware_image(&self) -> String {
        (self.firmware.clone())
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| DEFAULT_FIRMWARE.to_string())
    }
}

/// The largest overlay a card takes (real ones are a few KiB).
pub const MAX_OVERLAY: u64 = 1 << 20;

/// What is wrong with an `rpi.overlays` entry, if anything.
pub fn overlay_problem(path: &str) -> Option<String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if !name.ends_with(".dtbo") || name.len() <= ".dtbo".len() {
        return Some(format!(
            "{path:?} is not a device-tree overlay file; name a `.dtbo` file (e.g. tpm-slb9670.dtbo \
             from the Raspberry Pi firmware's overlays folder)"
        ));
    }
    if name.len() > 255 || name.chars().any(|c| c.is_control()) {
        return Some(format!(
            "{name:?} cannot be a file name on the boot partition"
        ));
    }
    None
}

/// config.txt settings cairn writes itself, and why a user line may not.
const RESERVED: [(&str, &str); 14] = [
    ("kernel", "the kernel comes from `kernel.image`"),
    (
        "initramfs",
        "cairn writes the initramfs with the init and the board's modules",
    ),
    (
        "ramfsfile",
        "cairn writes the initramfs with the init and the board's modules",
    ),
    (
        "ramfsaddr",
        "cairn loads the initramfs right after the kernel",
    ),
    (
        "initramfs_addr",
        "cairn loads the initramfs right after the kernel",
    ),
    (
        "cmdline",
        "the command line pins the verified root; set `kernel.cmdline` instead",
    ),
    (
        "device_tree",
        "the firmware picks the board's device tree (`upstream_kernel=1`)",
    ),
    ("device_tree_address", "the firmware places the device tree"),
    (
        "os_prefix",
        "every boot file sits at the top of the boot partition",
    ),
    ("arm_64bit", "the Debian arm64 kernel needs the 64-bit mode"),
    (
        "upstream_kernel",
        "the card carries mainline device-tree names",
    ),
    ("kernel_address", "the firmware places the kernel"),
    (
        "include",
        "every setting must be in the config.txt cairn writes",
    ),
    ("enable_uart", "cairn turns the serial console on"),
];

/// What is wrong with a user config.txt line, if anything.
pub fn config_line_problem(line: &str) -> Option<String> {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Some("the line is empty; remove it".into());
    }
    if let Some(c) = line.chars().find(|c| c.is_control()) {
        return Some(format!(
            "the line holds the control character {c:?}; give one setting per list entry"
        ));
    }
    if trimmed.starts_with('[') {
        return (!trimmed.ends_with(']'))
            .then(|| "a conditional filter is written `[pi4]`, `[all]`, ...".to_string());
    }
    if trimmed.starts_with('#') {
        return None;
    }
    let key = trimmed
        .split(|c: char| c == '=' || c.is_whitespace())
        .next()
        .unwrap_or(trimmed)
        .to_ascii_lowercase();
    RESERVED
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(k, why)| format!("cairn sets `{k}` itself ({why}); remove the line"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlay_must_be_a_dtbo_file() {
        assert_eq!(overlay_problem("hats/tpm-slb9670.dtbo"), None);
        assert!(overlay_problem("tpm.dts").is_some());
        assert!(overlay_problem(".dtbo").is_some());
    }

    #[test]
    fn overlays_parameters_filters_and_comments_are_accepted() {
        for line in [
            "dtoverlay=tpm-slb9670",
            "dtparam=spi=on",
            "[pi4]",
            "# a TPM HAT",
            "gpu_mem=16",
        ] {
            assert_eq!(config_line_problem(line), None, "{line}");
        }
    }

    #[test]
    fn lines_that_would_replace_the_kernel_initramfs_or_cmdline_are_refused() {
        for (line, key) in [
            ("kernel=other.img", "kernel"),
            ("initramfs evil.img followkernel", "initramfs"),
            ("CMDLINE=x.txt", "cmdline"),
            ("device_tree=my.dtb", "device_tree"),
        ] {
            let problem = config_line_problem(line).expect(line);
            assert!(problem.contains(&format!("`{key}`")), "{problem}");
        }
        assert!(config_line_problem("dtparam=a\nkernel=x").is_some());
        assert!(config_line_problem("  ").is_some());
    }
}
