//! One block in, the bytes to store out: compressed when that saves space,
//! else the block itself (the caller marks it uncompressed).

use ruzstd::encoding::{CompressionLevel, compress_to_vec};

use super::Compression;

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// Frame header descriptor bits that move or remove the window byte.
const SINGLE_SEGMENT: u8 = 0x20;
const CHECKSUM: u8 = 0x04;
const DICTIONARY_ID: u8 = 0x03;

/// Compresses `raw`; `None` when the result would not be smaller, so the
/// block is stored as is.
pub(crate) fn compress(compression: Compression, raw: &[u8]) -> Option<Vec<u8>> {
    match compression {
        Compression::None => None,
        Compression::Zstd => {
            if raw.is_empty() {
                return None;
            }
            let mut out = compress_to_vec(raw, CompressionLevel::Fastest);
            fit_for_kernel(&mut out, raw.len());
            (out.len() < raw.len()).then_some(out)
        }
    }
}

/// Makes ruzstd's frame acceptable to the kernel's squashfs decompressor.
///
/// The window: ruzstd always declares 128 KiB, but the kernel refuses
/// frames whose window exceeds max(block size, 8 KiB). A frame never refers
/// further back than its own content, so the smallest power of two that
/// holds the content is an honest window.
///
/// The checksum: the kernel stops with EIO when the output pages are full
/// and the decoder still wants input, which happens when the trailing
/// 4-byte checksum straddles a page of the image. The block layer already
/// guards the image (dm-verity), so the checksum is dropped, as mksquashfs
/// never writes one either.
fn fit_for_kernel(frame: &mut Vec<u8>, content_len: usize) {
    if frame.len() < 6 || frame[..4] != ZSTD_MAGIC {
        return;
    }
    if frame[4] & (SINGLE_SEGMENT | DICTIONARY_ID) != 0 {
        return;
    }
    let log = content_len.next_power_of_two().trailing_zeros().max(10);
    let declared = 10 + u32::from(frame[5] >> 3);
    if log < declared {
        // Mantissa 0: the window is exactly 2^log.
        frame[5] = ((log - 10) as u8) << 3;
    }
    if frame[4] & CHECKSUM != 0 && frame.len() >= 10 {
        frame[4] &= !CHECKSUM;
        frame.truncate(frame.len() - 4);
    }
    drop_empty_last_block(frame);
}

/// The output side of the same kernel loop: ruzstd may end a frame with an
/// empty last block after blocks that already produced all the content.
/// When that content fills the block (128 KiB, every output page), the
/// kernel has no page left while the decoder still reads that header, and
/// fails the read with EIO. Marking the previous block last and dropping
/// the empty one gives the same content in a frame the kernel reads.
fn drop_empty_last_block(frame: &mut Vec<u8>) {
    // Magic, descriptor and window byte: the only header shape left here.
    let mut at = 6;
    let mut previous = None;
    while at + 3 <= frame.len() {
        let header = u32::from_le_bytes([frame[at], frame[at + 1], frame[at + 2], 0]);
        let (last, kind, size) = (header & 1, (header >> 1) & 3, (header >> 3) as usize);
        if last == 1 {
            // An empty raw block, exactly at the end, after another block.
            if kind == 0
                && size == 0
                && at + 3 == frame.len()
                && let Some(prev) = previous
            {
                frame[prev] |= 1;
                frame.truncate(at);
            }
            return;
        }
        previous = Some(at);
        at += 3 + if kind == 1 { 1 } else { size };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(frame: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut dec = ruzstd::decoding::StreamingDecoder::new(frame).expect("a zstd frame");
        std::io::Read::read_to_end(&mut dec, &mut out).expect("a valid zstd frame");
        out
    }

    #[test]
    fn frames_carry_no_checksum_and_a_window_no_larger_than_their_content() {
        let raw: Vec<u8> = (0..8192u32).map(|i| (i % 7) as u8).collect();
        let frame = compress(Compression::Zstd, &raw).expect("repetitive data shrinks");
        assert_eq!(frame[5] >> 3, 3, "window 8 KiB");
        assert_eq!(frame[4] & CHECKSUM, 0, "no checksum");
        assert_eq!(decode(&frame), raw);
    }

    #[test]
    fn a_full_block_ends_with_its_last_data_block_not_an_empty_one() {
        // 128 KiB that compress well: ruzstd ends such frames with an empty
        // raw block, which the kernel cannot read once its pages are full.
        let raw: Vec<u8> = (0..128 * 1024u32).map(|i| (i / 3 % 251) as u8).collect();
        let frame = compress(Compression::Zstd, &raw).expect("shrinks");
        assert_eq!(decode(&frame), raw);
        let mut at = 6;
        loop {
            let h = u32::from_le_bytes([frame[at], frame[at + 1], frame[at + 2], 0]);
            let (last, kind, size) = (h & 1, (h >> 1) & 3, (h >> 3) as usize);
            if last == 1 {
                assert!(kind != 0 || size != 0, "an empty last block is left");
                assert_eq!(at + 3 + if kind == 1 { 1 } else { size }, frame.len());
                break;
            }
            at += 3 + if kind == 1 { 1 } else { size };
        }
    }

    #[test]
    fn dropping_an_empty_last_block_marks_the_one_before_last() {
        // Magic, descriptor, window, a raw block "ab", an empty last block.
        let mut frame = vec![
            0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38, 0x10, 0x00, 0x00, b'a', b'b',
        ];
        frame.extend([0x01, 0x00, 0x00]);
        drop_empty_last_block(&mut frame);
        assert_eq!(frame.len(), 11);
        assert_eq!(frame[6], 0x11);
        assert_eq!(decode(&frame), b"ab");
    }

    #[test]
    fn incompressible_or_uncompressed_blocks_are_kept_as_they_are() {
        let mut x = 0x2545_f491_u32;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        assert!(compress(Compression::Zstd, &noise).is_none());
        assert!(compress(Compression::None, &[0; 4096]).is_none());
    }
}
