//! What a device is called: its model and serial as sysfs knows them, for
//! the question before a flash and the dry run.

use super::sysfs::Sysfs;

/// Model and serial as sysfs knows them: SCSI and USB disks
/// (`device/vendor` + `device/model`), SD cards (`device/name`), NVMe
/// (`device/model`); the serial from the device or the USB device above
/// it. A loop device names its backing file.
pub fn of(sys: &Sysfs, name: &str) -> (Option<String>, Option<String>) {
    let disk = sys.disk_of(name);
    if let Some(backing) = sys.attr(&disk, "loop/backing_file") {
        return (Some(format!("loop device of {backing}")), None);
    }
    let vendor = sys.attr(&disk, "device/vendor");
    let model = sys
        .attr(&disk, "device/model")
        .or_else(|| sys.attr(&disk, "device/name"));
    let model = match (vendor, model) {
        (Some(v), Some(m)) if !m.starts_with(&v) => Some(format!("{v} {m}")),
        (_, Some(m)) => Some(m),
        (v, None) => v,
    };
    let mut serial = sys
        .attr(&disk, "device/serial")
        .or_else(|| sys.attr(&disk, "serial"));
    // A USB stick's serial is on the USB device, a few folders up.
    let mut up = String::from("device");
    for _ in 0..6 {
        if serial.is_some() {
            break;
        }
        up.push_str("/..");
        if sys.attr(&disk, &format!("{up}/idVendor")).is_some() {
            serial = sys.attr(&disk, &format!("{up}/serial"));
            break;
        }
    }
    (model, serial)
}

#[cfg(test)]
mod tests {
    use super::super::sysfs::fake;
    use super::*;

    fn machine() -> (tempfile::TempDir, Sysfs) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fake::disk(root, "sdb", "8:16");
        fake::partition(root, "sdb", "sdb1", "8:17");
        fake::disk(root, "mmcblk0", "179:0");
        fake::disk(root, "loop3", "7:3");
        fake::attr(root, "sdb", "device/vendor", "SanDisk ");
        fake::attr(root, "sdb", "device/model", "Ultra           \n");
        fake::attr(root, "mmcblk0", "device/name", "SC32G\n");
        fake::attr(root, "mmcblk0", "device/serial", "0x4c530001\n");
        fake::attr(root, "loop3", "loop/backing_file", "/tmp/card.bin\n");
        let sys = Sysfs::new(root);
        (dir, sys)
    }

    #[test]
    fn a_loop_device_is_named_by_its_backing_file() {
        let (_dir, sys) = machine();
        assert_eq!(
            of(&sys, "loop3"),
            (Some("loop device of /tmp/card.bin".into()), None)
        );
    }

    #[test]
    fn the_model_and_serial_come_from_the_device_or_the_usb_device_above_it() {
        let (dir, sys) = machine();
        assert_eq!(of(&sys, "sdb1"), (Some("SanDisk Ultra".into()), None));
        assert_eq!(
            of(&sys, "mmcblk0"),
            (Some("SC32G".into()), Some("0x4c530001".into()))
        );
        // sdb's `device` is a SCSI device inside a USB device with a serial.
        let usb = dir.path().join("devices/usb1");
        std::fs::create_dir_all(usb.join("host0/target0")).unwrap();
        std::fs::write(usb.join("idVendor"), "0781\n").unwrap();
        std::fs::write(usb.join("serial"), "AA01\n").unwrap();
        let device = dir.path().join("class/block/sdb/device");
        let attrs = ["vendor", "model"].map(|a| std::fs::read(device.join(a)).unwrap());
        std::fs::remove_dir_all(&device).unwrap();
        let scsi = usb.join("host0/target0/0:0:0:0");
        std::fs::create_dir_all(&scsi).unwrap();
        for (a, bytes) in ["vendor", "model"].iter().zip(attrs) {
            std::fs::write(scsi.join(a), bytes).unwrap();
        }
        std::os::unix::fs::symlink(&scsi, &device).unwrap();
        assert_eq!(
            of(&sys, "sdb"),
            (Some("SanDisk Ultra".into()), Some("AA01".into()))
        );
    }
}
