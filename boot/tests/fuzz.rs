//! The boot crate's readers on hostile bytes: valid images (a real PE, a
//! GPT and a FAT written here) with random bytes changed, cut short or
//! replaced, and pure noise. A reader may refuse anything; it must never
//! panic, hang or allocate what the input claims. `make test` runs a few
//! hundred cases per reader; `make test-slow` runs `PROPTEST_CASES` of them.

use std::io::Cursor;

use cairn_boot::{fat, gpt, pe, uki};
use proptest::prelude::*;
use proptest::sample::Index;

/// Debian's systemd-stub: a real PE/COFF file with several sections.
const STUB: &str = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";

/// `seed` with up to 32 bytes set, then maybe cut at some point.
fn mutated(seed: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = seed.len();
    (
        prop::collection::vec((any::<Index>(), any::<u8>()), 0..32),
        prop::option::of(any::<Index>()),
    )
        .prop_map(move |(patches, cut)| {
            let mut bytes = seed.clone();
            for (at, value) in patches {
                bytes[at.index(len)] = value;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(len + 1));
            }
            bytes
        })
}

fn noise() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..8192)
}

fn gpt_disk() -> Vec<u8> {
    let mut disk = Cursor::new(vec![0u8; 4 << 20]);
    let parts = [gpt::Partition {
        slot: 1,
        type_guid: gpt::ESP,
        unique_guid: gpt::guid_from(&[b"fuzz"]),
        name: "esp".into(),
        first_lba: 2048,
        last_lba: 4095,
        attrs: 0,
    }];
    gpt::write_table(&mut disk, gpt::guid_from(&[b"disk"]), 4 << 20, &parts).expect("gpt");
    // Only the tables matter: the primary ones and the backup at the end.
    let mut bytes = disk.into_inner();
    bytes.truncate(64 << 10);
    bytes
}

fn fat_image() -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let data = b"a file in a folder".to_vec();
    let mut reader: &[u8] = &data;
    let mut files = [fat::File {
        path: "EFI/BOOT/BOOTX64.EFI",
        size: data.len() as u64,
        data: &mut reader,
    }];
    let opts = fat::Options {
        volume_id: 1,
        label: *b"FUZZ       ",
    };
    let size = fat::partition_size(data.len() as u64, 1);
    fat::write(&mut out, size, &opts, &mut files).expect("fat");
    let mut bytes = out.into_inner();
    bytes.resize(size as usize, 0);
    bytes
}

fn read_pe(bytes: &[u8]) {
    if let Ok(p) = pe::parse(bytes) {
        let _ = p.section(b".linux");
        let _ = p.certificate_table();
    }
    let _ = pe::authenticode_sha256(bytes);
    let _ = uki::read_section(bytes, ".cmdline");
}

fn read_gpt(bytes: &[u8]) {
    for sector in [512, 4096] {
        let _ = gpt::read_table(&mut Cursor::new(bytes), sector);
    }
}

fn read_fat(bytes: &[u8]) {
    let _ = fat::read_file(&mut Cursor::new(bytes), "EFI/BOOT/BOOTX64.EFI");
    let _ = fat::read_file(&mut Cursor::new(bytes), "A/B/C/D/E/F/G/H");
}

proptest! {
    #[test]
    fn the_pe_reader_survives_a_changed_stub(bytes in mutated(std::fs::read(STUB).expect("systemd-boot-efi (make deps)"))) {
        read_pe(&bytes);
    }

    #[test]
    fn the_pe_reader_survives_noise(bytes in noise()) {
        read_pe(&bytes);
    }

    #[test]
    fn the_gpt_reader_survives_a_changed_table(bytes in mutated(gpt_disk())) {
        read_gpt(&bytes);
    }

    #[test]
    fn the_gpt_reader_survives_noise(bytes in noise()) {
        read_gpt(&bytes);
    }

    #[test]
    fn the_fat_reader_survives_a_changed_volume(bytes in mutated(fat_image())) {
        read_fat(&bytes);
    }

    #[test]
    fn the_fat_reader_survives_noise(bytes in noise()) {
        read_fat(&bytes);
    }
}
