use super::*;
use crate::fstree::content::Contents;

/// A minimal little-endian ELF64 file: one PT_LOAD over the whole file
/// (addresses equal offsets), an optional PT_INTERP and a PT_DYNAMIC.
pub fn synth_elf(
    machine: u16,
    interp: Option<&str>,
    needed: &[&str],
    runpath: Option<&str>,
) -> Vec<u8> {
    let phnum = 3u64;
    let interp_off = 64 + 56 * phnum;
    let interp_bytes = interp
        .map(|i| format!("{i}\0"))
        .unwrap_or_default()
        .into_bytes();
    let strtab_off = interp_off + interp_bytes.len() as u64;
    let mut strtab = vec![0u8];
    let mut dyns: Vec<(u64, u64)> = Vec::new();
    for name in needed.iter().copied().chain(runpath) {
        let at = strtab.len() as u64;
        strtab.extend_from_slice(name.as_bytes());
        strtab.push(0);
        let tag = if runpath == Some(name) {
            DT_RUNPATH
        } else {
            DT_NEEDED
        };
        dyns.push((tag, at));
    }
    let dyn_off = (strtab_off + strtab.len() as u64).div_ceil(8) * 8;
    dyns.push((DT_STRTAB, strtab_off));
    dyns.push((DT_STRSZ, strtab.len() as u64));
    dyns.push((0, 0));
    let total = dyn_off + 16 * dyns.len() as u64;

    let mut b = vec![0u8; total as usize];
    b[..4].copy_from_slice(b"\x7fELF");
    b[4] = 2;
    b[5] = 1;
    b[6] = 1;
    b[16..18].copy_from_slice(&ET_DYN.to_le_bytes());
    b[18..20].copy_from_slice(&machine.to_le_bytes());
    b[32..40].copy_from_slice(&64u64.to_le_bytes());
    b[54..56].copy_from_slice(&56u16.to_le_bytes());
    b[56..58].copy_from_slice(&(phnum as u16).to_le_bytes());
    let mut ph = |i: u64, kind: u32, off: u64, size: u64| {
        let at = (64 + 56 * i) as usize;
        b[at..at + 4].copy_from_slice(&kind.to_le_bytes());
        b[at + 8..at + 16].copy_from_slice(&off.to_le_bytes());
        b[at + 16..at + 24].copy_from_slice(&off.to_le_bytes());
        b[at + 32..at + 40].copy_from_slice(&size.to_le_bytes());
    };
    ph(0, PT_LOAD, 0, total);
    ph(
        1,
        if interp.is_some() { PT_INTERP } else { 0 },
        interp_off,
        interp_bytes.len() as u64,
    );
    ph(2, PT_DYNAMIC, dyn_off, 16 * dyns.len() as u64);
    b[interp_off as usize..strtab_off as usize].copy_from_slice(&interp_bytes);
    b[strtab_off as usize..strtab_off as usize + strtab.len()].copy_from_slice(&strtab);
    for (i, (tag, val)) in dyns.iter().enumerate() {
        let at = dyn_off as usize + 16 * i;
        b[at..at + 8].copy_from_slice(&tag.to_le_bytes());
        b[at + 8..at + 16].copy_from_slice(&val.to_le_bytes());
    }
    b
}

const LD: &str = "/lib64/ld-linux-x86-64.so.2";

fn runc_like_tree() -> Tree {
    let mut t = Tree::new(Contents::new(None).unwrap());
    let add = |t: &mut Tree, path: &str, bytes: Vec<u8>| {
        t.add_file(path, &mut bytes.as_slice(), 0o755, 0, 0)
            .unwrap();
    };
    add(
        &mut t,
        "usr/sbin/runc",
        synth_elf(EM_X86_64, Some(LD), &["libseccomp.so.2", "libc.so.6"], None),
    );
    add(
        &mut t,
        "lib/x86_64-linux-gnu/libc.so.6",
        synth_elf(EM_X86_64, None, &["ld-linux-x86-64.so.2"], None),
    );
    add(
        &mut t,
        "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        synth_elf(EM_X86_64, None, &[], None),
    );
    add(
        &mut t,
        "usr/lib/x86_64-linux-gnu/libseccomp.so.2.5.4",
        synth_elf(EM_X86_64, None, &["libc.so.6"], None),
    );
    let link = |target: &str| Entry {
        kind: Kind::Symlink(target.into()),
        mode: 0o777,
        uid: 0,
        gid: 0,
    };
    t.insert(
        "usr/lib/x86_64-linux-gnu/libseccomp.so.2",
        link("libseccomp.so.2.5.4"),
    )
    .unwrap();
    t.insert(
        "lib64/ld-linux-x86-64.so.2",
        link("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
    )
    .unwrap();
    t.add_file("etc/not-elf", &mut &b"hello"[..], 0o644, 0, 0)
        .unwrap();
    t
}

#[test]
fn headers_interpreter_needed_and_runpath_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x");
    std::fs::write(
        &path,
        synth_elf(
            EM_AARCH64,
            Some("/lib/ld-linux-aarch64.so.1"),
            &["libz.so.1"],
            Some("$ORIGIN/../lib"),
        ),
    )
    .unwrap();
    let info = read(&File::open(&path).unwrap()).unwrap().unwrap();
    assert_eq!(info.machine, EM_AARCH64);
    assert_eq!(info.interp.as_deref(), Some("/lib/ld-linux-aarch64.so.1"));
    assert_eq!(info.needed, ["libz.so.1"]);
    assert_eq!(info.search, ["$ORIGIN/../lib"]);
    std::fs::write(
        &path,
        b"#!/bin/sh\necho not an elf file at all, just text padding it out to 64 bytes\n",
    )
    .unwrap();
    assert_eq!(read(&File::open(&path).unwrap()).unwrap(), None);
}

#[test]
fn a_complete_tree_passes_following_symlinks_inside_it() {
    assert_eq!(check(&runc_like_tree(), Arch::Amd64, &[]).unwrap(), []);
}

#[test]
fn a_missing_library_interpreter_or_wrong_machine_is_listed() {
    let mut t = runc_like_tree();
    t.drop_matching(&[Glob::new("usr/lib/x86_64-linux-gnu/libseccomp.so.2.5.4").unwrap()]);
    t.drop_matching(&[Glob::new("lib/x86_64-linux-gnu/ld-linux-x86-64.so.2").unwrap()]);
    let text: Vec<String> = check(&t, Arch::Amd64, &[])
        .unwrap()
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert!(
        text.contains(&"/usr/sbin/runc: library libseccomp.so.2 is not in the package".to_string()),
        "{text:?}"
    );
    assert!(
        text.contains(&format!(
            "/usr/sbin/runc: interpreter {LD} is not in the package"
        )),
        "{text:?}"
    );
    assert!(
        text.contains(
            &"/lib/x86_64-linux-gnu/libc.so.6: library ld-linux-x86-64.so.2 is not in the package"
                .to_string()
        ),
        "{text:?}"
    );
    let wrong = check(&runc_like_tree(), Arch::Arm64, &[]).unwrap();
    assert!(
        wrong.iter().all(|p| p.what.contains("built for x86-64")),
        "{wrong:?}"
    );
    assert_eq!(
        check(&runc_like_tree(), Arch::Arm64, &[Glob::new("**").unwrap()]).unwrap(),
        []
    );
}

#[test]
fn runpath_with_origin_is_searched() {
    let mut t = Tree::new(Contents::new(None).unwrap());
    let bin = synth_elf(
        EM_AARCH64,
        None,
        &["libfoo.so"],
        Some("$ORIGIN/../lib/private"),
    );
    t.add_file("opt/x/bin/tool", &mut bin.as_slice(), 0o755, 0, 0)
        .unwrap();
    let lib = synth_elf(EM_AARCH64, None, &[], None);
    t.add_file(
        "opt/x/lib/private/libfoo.so",
        &mut lib.as_slice(),
        0o644,
        0,
        0,
    )
    .unwrap();
    assert_eq!(check(&t, Arch::Arm64, &[]).unwrap(), []);
}
