//! The order of writes, so that a flash stopped at any point never leaves
//! something that looks like a good disk: the old partition tables go
//! first (the first MiB, and the last MiB where a backup GPT lives), then
//! the image after its first MiB, and the image's own first MiB — its
//! partition table — last, each phase flushed before the next.

use std::ops::Range;

pub const MIB: u64 = 1 << 20;

/// Bytes per write and per read: the unit at which Ctrl-C is noticed.
pub const CHUNK: usize = 4 << 20;

/// One step of a flash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Write zeros over this range of the target.
    Zero(Range<u64>),
    /// Copy this range of the image to the same offsets of the target.
    Copy(Range<u64>),
    /// Flush everything written so far to the device (fdatasync).
    Sync,
}

/// A step and what it is for, as the dry run and errors say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub op: Op,
    pub what: &'static str,
}

impl Step {
    /// Bytes this step writes.
    pub fn bytes(&self) -> u64 {
        match &self.op {
            Op::Zero(r) | Op::Copy(r) => r.end - r.start,
            Op::Sync => 0,
        }
    }

    /// The step for people: "zeroing the first MiB, ...: bytes 0..1048576".
    pub fn describe(&self) -> String {
        match &self.op {
            Op::Zero(r) | Op::Copy(r) => format!("{}: bytes {}..{}", self.what, r.start, r.end),
            Op::Sync => self.what.to_string(),
        }
    }
}

pub const ZERO_HEAD: &str = "zeroing the first MiB, where partition tables live";
pub const ZERO_TAIL: &str = "zeroing the last MiB of the device, where a backup GPT lives";
pub const BODY: &str = "writing the image after its first MiB";
pub const HEAD: &str = "writing the image's first MiB, its partition table, last";
pub const SYNC: &str = "flushing to the device";

/// The steps that write an image of `image_len` bytes to a target of
/// `target_len` bytes (None when its size is unknown: no tail to clear).
///
/// The head is the image's first MiB (all of it when smaller). The tail
/// is the target's last MiB where it lies past the head; it may overlap
/// the image, which is written after it.
pub fn order(image_len: u64, target_len: Option<u64>) -> Vec<Step> {
    let head_end = image_len.min(MIB);
    let step = |op, what| Step { op, what };
    let mut steps = vec![step(Op::Zero(0..head_end), ZERO_HEAD)];
    if let Some(len) = target_len.filter(|&len| len > head_end) {
        let start = len.saturating_sub(MIB).max(head_end);
        steps.push(step(Op::Zero(start..len), ZERO_TAIL));
    }
    steps.push(step(Op::Sync, SYNC));
    if image_len > head_end {
        steps.push(step(Op::Copy(head_end..image_len), BODY));
        steps.push(step(Op::Sync, SYNC));
    }
    steps.push(step(Op::Copy(0..head_end), HEAD));
    steps.push(step(Op::Sync, SYNC));
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(steps: &[Step]) -> Vec<Op> {
        steps.iter().map(|s| s.op.clone()).collect()
    }

    #[test]
    fn a_larger_device_loses_both_old_tables_before_the_image_and_gets_its_table_last() {
        let image = 100 * MIB + 512;
        let device = 32_000 * MIB;
        assert_eq!(
            ops(&order(image, Some(device))),
            [
                Op::Zero(0..MIB),
                Op::Zero(device - MIB..device),
                Op::Sync,
                Op::Copy(MIB..image),
                Op::Sync,
                Op::Copy(0..MIB),
                Op::Sync,
            ]
        );
    }

    #[test]
    fn a_device_of_unknown_size_or_a_new_file_has_no_tail_to_clear() {
        for target in [None, Some(0)] {
            assert_eq!(
                ops(&order(3 * MIB, target)),
                [
                    Op::Zero(0..MIB),
                    Op::Sync,
                    Op::Copy(MIB..3 * MIB),
                    Op::Sync,
                    Op::Copy(0..MIB),
                    Op::Sync,
                ]
            );
        }
    }

    #[test]
    fn the_tail_never_reaches_into_the_head() {
        let steps = order(4 * MIB, Some(MIB + 4096));
        assert_eq!(steps[1].op, Op::Zero(MIB..MIB + 4096));
    }

    #[test]
    fn an_image_smaller_than_a_mib_is_all_head() {
        assert_eq!(
            ops(&order(4096, Some(4096))),
            [Op::Zero(0..4096), Op::Sync, Op::Copy(0..4096), Op::Sync]
        );
    }

    #[test]
    fn every_byte_of_the_image_is_copied_exactly_once() {
        for (image, target) in [
            (MIB, None),
            (MIB + 1, Some(MIB)),
            (77 * MIB + 3, Some(80 * MIB)),
        ] {
            let copied: u64 = order(image, target)
                .iter()
                .filter(|s| matches!(s.op, Op::Copy(_)))
                .map(Step::bytes)
                .sum();
            assert_eq!(copied, image);
        }
    }
}
