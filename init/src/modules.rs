//! The kernel modules the image lists, loaded in the order the builder
//! worked out (dependencies first), before the root is looked for.

use crate::log::log;
use crate::sys::{Console, Files, Kernel};

/// The module list of docs/rootfs-layout.md.
pub const MODULE_LIST: &str = "/etc/cairn/modules";

/// Loads each module of [`MODULE_LIST`] in order; failures are logged and
/// the boot goes on.
pub fn load_modules(sys: &mut (impl Files + Kernel + Console)) {
    let Ok(list) = sys.read_file(MODULE_LIST) else {
        log(sys, &format!("no {MODULE_LIST}: loading no modules"));
        return;
    };
    let Some(dir) = modules_dir(sys) else {
        log(
            sys,
            "warning: no /lib/modules/VERSION for this kernel: loading no modules",
        );
        return;
    };
    let (mut loaded, mut failed) = (0, 0);
    for module in list.lines().map(str::trim) {
        if module.is_empty() || module.starts_with('#') {
            continue;
        }
        let path = format!("{dir}/{module}");
        match sys.load_module(&path) {
            Ok(()) => loaded += 1,
            // Built in, or loaded already as a dependency.
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::EXIST.raw_os_error()) => {
                loaded += 1;
            }
            Err(e) => {
                failed += 1;
                log(sys, &format!("warning: cannot load module {module}: {e}"));
            }
        }
    }
    log(
        sys,
        &format!("loaded {loaded} modules from {dir} ({failed} failed)"),
    );
}

/// `/lib/modules/$(uname -r)`, or the only directory in `/lib/modules` when
/// the builder named it differently.
fn modules_dir(sys: &mut (impl Files + Kernel)) -> Option<String> {
    let release = sys.kernel_release();
    let own = format!("/lib/modules/{release}");
    if sys.exists(&own) {
        return Some(own);
    }
    match sys.list_dir("/lib/modules").ok()?.as_slice() {
        [only] => Some(format!("/lib/modules/{only}")),
        _ => None,
    }
}
