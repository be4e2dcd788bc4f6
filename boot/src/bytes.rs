//! Integers at fixed offsets of byte buffers: the one home of the field
//! readers every format reader needs (GPT, FAT, PE, ELF, ISO 9660, qcow2,
//! squashfs, TPM responses). Each returns None when the field runs past the
//! buffer, so a short or hostile input becomes an error at the caller,
//! never an out-of-bounds panic.

/// The byte order of a format's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    Little,
    Big,
}

fn array<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

impl Endian {
    pub fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let v = array(b, at)?;
        Some(match self {
            Endian::Little => u16::from_le_bytes(v),
            Endian::Big => u16::from_be_bytes(v),
        })
    }

    pub fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let v = array(b, at)?;
        Some(match self {
            Endian::Little => u32::from_le_bytes(v),
            Endian::Big => u32::from_be_bytes(v),
        })
    }

    pub fn u64(self, b: &[u8], at: usize) -> Option<u64> {
        let v = array(b, at)?;
        Some(match self {
            Endian::Little => u64::from_le_bytes(v),
            Endian::Big => u64::from_be_bytes(v),
        })
    }
}

pub fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    Endian::Little.u16(b, at)
}

pub fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Endian::Little.u32(b, at)
}

pub fn le_u64(b: &[u8], at: usize) -> Option<u64> {
    Endian::Little.u64(b, at)
}

pub fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Endian::Big.u32(b, at)
}

pub fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    Endian::Big.u64(b, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_in_either_byte_order() {
        let b = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(le_u16(&b, 1), Some(0x0302));
        assert_eq!(le_u32(&b, 0), Some(0x0403_0201));
        assert_eq!(le_u64(&b, 1), Some(0x0908_0706_0504_0302));
        assert_eq!(be_u32(&b, 0), Some(0x0102_0304));
        assert_eq!(be_u64(&b, 0), Some(0x0102_0304_0506_0708));
        assert_eq!(Endian::Big.u16(&b, 7), Some(0x0809));
    }

    #[test]
    fn a_field_past_the_end_is_none_never_a_panic() {
        let b = [0u8; 8];
        assert_eq!(le_u32(&b, 5), None);
        assert_eq!(le_u64(&b, 1), None);
        assert_eq!(be_u32(&b, usize::MAX - 1), None);
        assert_eq!(Endian::Little.u16(&[], 0), None);
    }
}
