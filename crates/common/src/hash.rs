//! The one content hash for identifying things across runs and versions: 64-bit FNV-1a. Plan
//! fingerprints (checkpoints and the compile cache key on them), kernel keys and the compile
//! cache's runtime hash all use it, so equal content gets equal names everywhere. Not for hash
//! tables on the hot path: those hash a word at a time (`darwin_columnar::keys`).

/// FNV-1a's offset basis: the hash of nothing.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x100_0000_01b3;

/// The FNV-1a hash of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_extend(FNV_OFFSET, bytes)
}

/// Continues the FNV-1a hash `h` over `bytes` (hashing several pieces as one).
pub fn fnv1a_extend(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME))
}

/// Mixes a whole 64-bit value into `h` as one FNV step (combining hashes that are already
/// spread, such as several plans' fingerprints).
pub fn fnv1a_combine(h: u64, value: u64) -> u64 {
    (h ^ value).wrapping_mul(FNV_PRIME)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published FNV-1a test vectors: a change here would rename every cached binary and
    /// refuse every checkpoint.
    #[test]
    fn matches_the_reference_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(fnv1a_extend(fnv1a(b"foo"), b"bar"), fnv1a(b"foobar"));
    }
}
