//! The exit code of a failed command: the class of the first classified
//! error in its chain. It sits at the CLI edge, above every error type, so
//! the library modules import only the leaf `exit` and never each other
//! for this. A test fails when an error type with a class is left out.

use std::process::ExitCode;

use crate::exit::{Classify, CliError, ErrorClass};

macro_rules! classify_as {
    ($cause:expr, $($ty:ty),+ $(,)?) => {
        $(
            if let Some(e) = $cause.downcast_ref::<$ty>() {
                return Some(e.class());
            }
        )+
    };
}

fn classify(cause: &(dyn std::error::Error + 'static)) -> Option<ErrorClass> {
    classify_as!(
        cause,
        CliError,
        crate::config::LoadError,
        crate::oci::StoreError,
        crate::oci::RegistryError,
        crate::trust::TrustError,
        crate::pkg::deb::DebError,
        crate::pkg::debian::DebianError,
        crate::pkg::build::BuildError,
        crate::pkg::crates::CrateError,
        crate::pkg::debs::DebsError,
        crate::kernel::KernelError,
        crate::plan::PlanError,
        crate::assemble::AssembleError,
        crate::output::OutputError,
        crate::run::RunError,
        crate::fstree::TreeError,
        crate::output::inspect::InspectError,
        crate::output::rpi_sign::SignError,
        crate::oci::layer::LayerError,
        crate::pkg::layer::LayerError,
        crate::pkg::elf::ElfError,
        crate::flash::FlashError,
        crate::update::UpdateError,
    );
    if let Some(io) = cause.downcast_ref::<std::io::Error>() {
        use std::io::ErrorKind::*;
        return Some(match io.kind() {
            NotFound | PermissionDenied | InvalidInput | InvalidData | AlreadyExists => {
                ErrorClass::User
            }
            _ => ErrorClass::Environment,
        });
    }
    None
}

/// The class of an error: the first classified cause in its chain, else user.
pub fn class_of(err: &anyhow::Error) -> ErrorClass {
    err.chain().find_map(classify).unwrap_or(ErrorClass::User)
}

pub fn code_for(err: &anyhow::Error) -> ExitCode {
    ExitCode::from(class_of(err).exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `impl Classify for NAME` in the library must be in the list
    /// above, or its class is silently lost.
    #[test]
    fn every_error_type_with_a_class_is_classified_here() {
        let this = include_str!("exit_code.rs");
        let list = &this[..this.find("#[cfg(test)]").expect("tests")];
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![src];
        let mut missing = Vec::new();
        while let Some(path) = files.pop() {
            if path.is_dir() {
                for e in std::fs::read_dir(&path).expect("src") {
                    files.push(e.expect("entry").path());
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("cli/exit_code.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source");
            for line in text.lines() {
                let Some((_, rest)) = line.split_once("Classify for ") else {
                    continue;
                };
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let named =
                    list.contains(&format!("::{name},")) || list.contains(&format!(" {name},"));
                if !named {
                    missing.push(format!("{name} ({})", path.display()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "not classified in cli/exit_code.rs: {missing:?}"
        );
    }

    #[test]
    fn a_missing_image_for_predict_is_the_machines_fault_not_the_users() {
        let err = crate::output::inspect::InspectError::Read {
            path: "missing.raw".into(),
            source: std::io::Error::from(std::io::ErrorKind::BrokenPipe),
        };
        assert_eq!(class_of(&anyhow::Error::new(err)), ErrorClass::Environment);
    }
}
