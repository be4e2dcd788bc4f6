//! The TPM, for measured boot.

use std::io;

/// The TPM, for measured boot.
pub trait Tpm {
    /// Opens the TPM (`/dev/tpmrm0`, else `/dev/tpm0`) and returns its path.
    fn tpm_open(&mut self) -> io::Result<String>;
    /// Sends one command to the TPM opened and returns its response.
    fn tpm_transmit(&mut self, command: &[u8]) -> io::Result<Vec<u8>>;
}
