//! Asking before erasing: the device's model, size and serial on the
//! terminal, and the word `yes` typed back. Without a terminal there is
//! nobody to ask, so the flash is refused unless `--yes` was given.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use super::FlashError;

/// Asks on this process's terminal, or refuses without one.
pub fn on_terminal(summary: &str, path: &Path) -> Result<(), FlashError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(FlashError::NoTerminal {
            path: path.to_path_buf(),
        });
    }
    ask(summary, path, stdin.lock(), std::io::stderr())
}

/// Shows `summary`, asks for `yes` and reads one line of `input`.
pub fn ask(
    summary: &str,
    path: &Path,
    mut input: impl BufRead,
    mut out: impl Write,
) -> Result<(), FlashError> {
    let refused = || FlashError::NotConfirmed {
        path: path.to_path_buf(),
    };
    let _ = write!(
        out,
        "{summary}\nEverything on {} will be lost. Type yes to write the image: ",
        path.display()
    );
    let _ = out.flush();
    let mut answer = String::new();
    input.read_line(&mut answer).map_err(|_| refused())?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_word_yes_confirms() {
        let path = Path::new("/dev/sdb");
        let mut shown = Vec::new();
        assert!(ask("target /dev/sdb: Ultra", path, &b"yes\n"[..], &mut shown).is_ok());
        let shown = String::from_utf8(shown).unwrap();
        assert!(
            shown.contains("Ultra") && shown.contains("Type yes"),
            "{shown}"
        );
        for answer in ["y\n", "no\n", "", "YES please\n"] {
            let err = ask("", path, answer.as_bytes(), Vec::new()).unwrap_err();
            assert!(matches!(err, FlashError::NotConfirmed { .. }), "{answer:?}");
        }
    }
}
