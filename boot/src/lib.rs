//! cairn-boot: the formats a cairn system boots from, written in pure Rust
//! with no host tools, byte for byte reproducible.
//!
//! Today: [`cpio`], the newc archive the kernel unpacks as its initramfs.

pub mod cpio;
