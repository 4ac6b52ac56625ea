//! Copying between buffers in pieces that stay off a slow path of the C library's memcpy.
//!
//! glibc copies blocks of a few KiB and more with `rep movsb`. On the AMD Zen 3 machine the
//! benchmarks first ran on, that instruction runs about 20 times slower when the destination
//! lies 1 to 31 bytes past the source modulo 4096 — and two buffers allocated one after the
//! other land exactly there (16 bytes apart modulo 4096), so a chain copying from one PipeBuf
//! into the next hit it on every large message (one 64 KiB copy per message cost more CPU
//! than the AES-GCM of the same bytes). Copies below the `rep movsb` threshold use vector
//! loops whose speed does not depend on that distance, so large copies are done in pieces of
//! that size. The `chain_64k_x4` group of `pipebuf/benches/throughput.rs` measures both: at a
//! good distance the pieces cost nothing (6.20 µs against 6.37 µs for one `memcpy` over
//! 4 × 64 KiB), at the bad one they are 16 times faster.

/// Bytes per piece of a large copy: below glibc's `rep movsb` threshold (2 KiB and up).
const PIECE_BYTES: usize = 1024;
/// Copies of fewer bytes go in one piece.
const LARGE_BYTES: usize = 4096;

/// Copies as many elements as both slices hold from `src` to the start of `dst` and returns
/// how many: `copy_from_slice` for buffers that may lie at a bad distance from each other
/// (two PipeBufs allocated one after the other do). Components that fill a
/// [`space`](crate::PBufWr::space) from another buffer's data should copy with this, as
/// [`PBufWr::append`](crate::PBufWr::append) and [`PBufRd::forward`](crate::PBufRd::forward)
/// do.
///
/// ```
/// let src = vec![7u8; 70_000];
/// let mut dst = vec![0u8; 65_536];
/// assert_eq!(pipebuf::copy_slice(&mut dst, &src), 65_536);
/// assert!(dst.iter().all(|&b| b == 7));
/// ```
#[inline]
pub fn copy_slice<T: Copy>(dst: &mut [T], src: &[T]) -> usize {
    let n = dst.len().min(src.len());
    copy_elements(&mut dst[..n], &src[..n]);
    n
}

/// `dst.copy_from_slice(src)` for slices of equal length, in pieces when large.
#[inline]
pub(crate) fn copy_elements<T: Copy>(dst: &mut [T], src: &[T]) {
    let size = core::mem::size_of::<T>().max(1);
    if dst.len() * size < LARGE_BYTES {
        dst.copy_from_slice(src);
        return;
    }
    let piece = (PIECE_BYTES / size).max(1);
    for (d, s) in dst.chunks_mut(piece).zip(src.chunks(piece)) {
        d.copy_from_slice(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_and_small_copies_copy_every_element() {
        let mut src = [0u8; 65536 + 3];
        for (i, b) in src.iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }
        for len in [0, 1, 1023, 1024, 4095, 4096, 4097, 65536 + 3] {
            let mut dst = [0u8; 65536 + 3];
            copy_elements(&mut dst[..len], &src[..len]);
            assert_eq!(dst[..len], src[..len], "len {len}");
            assert!(dst[len..].iter().all(|&b| b == 0));
        }
        let mut wide = [0u32; 5000];
        for (i, w) in wide.iter_mut().enumerate() {
            *w = i as u32;
        }
        let mut dst = [0u32; 5000];
        copy_elements(&mut dst, &wide);
        assert_eq!(dst, wide);
    }
}
