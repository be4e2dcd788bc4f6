//! What the running system uses: `/proc/self/mountinfo` and `/proc/swaps`,
//! parsed from their text.

use super::sysfs::DevId;

/// One line of `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `MAJOR:MINOR` of the mounted file system (0:N for btrfs, overlay...).
    pub dev: DevId,
    /// Where it is mounted, unescaped.
    pub mount_point: String,
    pub fstype: String,
    /// What was mounted, e.g. `/dev/sdb1`, unescaped.
    pub source: String,
}

/// Every line of mountinfo that parses, in order.
///
/// A line: `ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS`.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Mount> {
    let (before, after) = line.split_once(" - ")?;
    let mut fields = before.split(' ');
    let dev = fields.nth(2)?.parse().ok()?;
    let mount_point = unescape(fields.nth(1)?);
    let mut after = after.split(' ');
    let fstype = unescape(after.next()?);
    let source = unescape(after.next()?);
    Some(Mount {
        dev,
        mount_point,
        fstype,
        source,
    })
}

/// The paths in `/proc/swaps` (devices or files), without its header.
pub fn parse_swaps(text: &str) -> Vec<String> {
    text.lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .map(unescape)
        .collect()
}

/// The kernel writes a space, tab, newline and backslash in these files as
/// `\040`, `\011`, `\012` and `\134`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                let value = d.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
45 27 8:17 / /media/me/NO\\040NAME rw,nosuid shared:7 master:1 - vfat /dev/sdb1 rw,fmask=0022
46 27 0:45 /@home /home rw,relatime shared:9 - btrfs /dev/nvme0n1p2 rw,ssd
bad line without separator
";

    #[test]
    fn mountinfo_gives_device_numbers_mount_points_and_sources() {
        let mounts = parse_mountinfo(MOUNTINFO);
        assert_eq!(mounts.len(), 4);
        assert_eq!(
            mounts[2],
            Mount {
                dev: DevId {
                    major: 8,
                    minor: 17
                },
                mount_point: "/media/me/NO NAME".into(),
                fstype: "vfat".into(),
                source: "/dev/sdb1".into(),
            }
        );
        assert_eq!(mounts[1].mount_point, "/");
        assert_eq!(mounts[3].dev.to_string(), "0:45");
        assert_eq!(mounts[3].source, "/dev/nvme0n1p2");
    }

    #[test]
    fn swaps_lists_the_paths_after_its_header() {
        let text = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n\
                    /dev/sdb2                               partition\t1048572\t\t0\t\t-2\n\
                    /swap\\040file                            file\t\t1048572\t\t0\t\t-3\n";
        assert_eq!(parse_swaps(text), ["/dev/sdb2", "/swap file"]);
    }

    #[test]
    fn an_escape_that_is_not_octal_is_kept() {
        assert_eq!(unescape("a\\b\\0"), "a\\b\\0");
        assert_eq!(unescape("tab\\011x"), "tab\tx");
    }
}
