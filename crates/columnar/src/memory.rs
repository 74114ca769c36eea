//! Large buffers on transparent huge pages. A restore first-touches every page of the memory it
//! fills (gigabytes for large state), and on 4 KiB pages the page faults cost more than the
//! copying: restoring 1.1 GB of state took 3.0–3.6 s on 4 KiB pages, 2.6–2.75 s on huge pages
//! (bench/recovery.sh, BENCHMARKS.md).

/// Below this, asking for huge pages is not worth a system call.
const MIN_BYTES: usize = 4 << 20;

/// An empty vector with room for `n` items, whose memory the kernel may back with transparent
/// huge pages where the system grants them on request (`madvise` mode). Best effort: elsewhere
/// it is `Vec::with_capacity`.
pub fn vec_with_capacity<T>(n: usize) -> Vec<T> {
    let v = Vec::with_capacity(n);
    advise_huge(v.as_ptr() as usize, n.saturating_mul(std::mem::size_of::<T>()));
    v
}

/// `n` copies of `x`, as [`vec_with_capacity`] allocates.
pub fn vec_filled<T: Clone>(x: T, n: usize) -> Vec<T> {
    let mut v = vec_with_capacity(n);
    v.resize(n, x);
    v
}

#[cfg_attr(target_os = "linux", expect(unsafe_code, reason = "madvise(2) has no safe wrapper in std"))]
fn advise_huge(addr: usize, len: usize) {
    if len < MIN_BYTES {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let (start, end) = (addr.next_multiple_of(HUGE), (addr + len) / HUGE * HUGE);
        if end > start {
            // SAFETY: MADV_HUGEPAGE only changes how the kernel backs pages of this range, which
            // lies inside an allocation we own; it never changes their contents or mappings.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn buffers_hold_what_was_asked() {
        let v: Vec<u64> = super::vec_filled(7, 1 << 20);
        assert!(v.len() == 1 << 20 && v.iter().all(|x| *x == 7));
        let w: Vec<u8> = super::vec_with_capacity(10);
        assert!(w.is_empty() && w.capacity() >= 10);
    }
}
