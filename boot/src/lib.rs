//! cairn-boot: the formats a cairn system boots from, written in pure Rust
//! with no host tools, byte for byte reproducible.
//!
//! - [`bytes`]: integers at offsets of buffers, for every reader.
//! - [`cpio`]: the newc archive the kernel unpacks as its initramfs.
//! - [`squashfs`]: the read-only root filesystem.
//! - [`verity`]: the dm-verity hash tree and superblock that pin it.
//! - [`fat`]: the FAT32 EFI system partition.
//! - [`gpt`]: the partition table of a disk image.
//! - [`mbr`]: the partition table of a Raspberry Pi card.
//! - [`iso9660`]: a hybrid ISO image that boots UEFI from CD or USB.
//! - [`qcow2`]: a raw disk image as qcow2.
//! - [`pe`], [`uki`]: the unified kernel image (systemd-stub plus sections)
//!   and its Authenticode hash.
//! - [`measure`], [`pcr`]: what a boot extends into the TPM, forecast.

pub mod bytes;
pub mod cpio;
pub mod fat;
pub mod gpt;
pub mod iso9660;
pub mod mbr;
pub mod measure;
pub mod path;
pub mod pcr;
pub mod pe;
pub mod qcow2;
pub mod squashfs;
pub mod uki;
pub mod verity;

#[cfg(test)]
mod test_bytes;
