//! What the fast variants and the benchmarks of the listings need from the
//! machine, kept apart from the book's conventions in `notation`:
//!
//! - [`wide!`]: run a kernel compiled for the widest vectors the CPU has;
//! - [`zeros_in_large_pages`]: matrices backed by 2 MiB pages;
//! - `cpu_time` (feature `bench`): a criterion measurement of the CPU time
//!   of the benchmark's thread, shared by the benchmarks of chapters 2 to 4.

pub use notation::Real;

#[cfg(feature = "bench")]
pub mod cpu_time;

/// `wide!(kernel::<T>(args): ArgType => ReturnType)` runs
/// `kernel::<T>(args)` (or `wide!(kernel(args): ...)` for a kernel
/// without type parameter) compiled for the widest vectors the CPU has
/// (AVX-512, else AVX2, else the default target's SSE2), detected at run
/// time: the loops in `kernel` get 16 or 8 lanes of f32 instead of 4.
/// Every lane computes the same IEEE operations, so the numbers are the
/// same to the bit. `kernel` must be marked `#[inline(always)]`, so that
/// its body is compiled into each variant; `ArgType` and `ReturnType`
/// may use the type parameter `T`. Used by the `*_fast` variants of
/// chapters 2 and 3.
#[macro_export]
macro_rules! wide {
    ($kernel:ident ($args:expr) : $arg_ty:ty => $ret:ty) => {{
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f")]
        fn avx512(args: $arg_ty) -> $ret {
            $kernel(args)
        }
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        fn avx2(args: $arg_ty) -> $ret {
            $kernel(args)
        }
        let args = $args;
        #[cfg(target_arch = "x86_64")]
        let result = if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, checked just above.
            unsafe { avx512(args) }
        } else if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            unsafe { avx2(args) }
        } else {
            $kernel(args)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let result = $kernel(args);
        result
    }};
    ($kernel:ident :: < $t:ty > ($args:expr) : $arg_ty:ty => $ret:ty) => {{
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f")]
        fn avx512<T: $crate::Real>(args: $arg_ty) -> $ret {
            $kernel::<T>(args)
        }
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        fn avx2<T: $crate::Real>(args: $arg_ty) -> $ret {
            $kernel::<T>(args)
        }
        let args = $args;
        #[cfg(target_arch = "x86_64")]
        let result = if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, checked just above.
            unsafe { avx512::<$t>(args) }
        } else if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            unsafe { avx2::<$t>(args) }
        } else {
            $kernel::<$t>(args)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let result = $kernel::<$t>(args);
        result
    }};
}

/// A `rows × cols` matrix of zeros whose storage the kernel is asked to
/// back with 2 MiB pages instead of 4 KiB ones (Linux: `madvise` with
/// `MADV_HUGEPAGE` before the memory is first written; elsewhere, or if
/// the kernel declines, an ordinary matrix). A pass over hundreds of
/// megabytes, such as an Adam step over 10⁷ parameters, then needs 512
/// times fewer address translations: about 10 % less time on the machine
/// of the README. PyTorch's CPU allocator gives its large tensors such
/// pages. Worth it only for matrices of several MiB.
pub fn zeros_in_large_pages<T: Real>(
    rows: usize,
    cols: usize,
) -> nalgebra::DMatrix<T> {
    let n = rows * cols;
    let mut data: Vec<T> = Vec::with_capacity(n);
    // Advice first, zeros second: the kernel picks the page size when a
    // page is first written.
    advise_large_pages(
        data.as_mut_ptr() as usize,
        std::mem::size_of::<T>() * n,
    );
    data.resize(n, T::zero());
    nalgebra::DMatrix::from_vec(rows, cols, data)
}

#[cfg(target_os = "linux")]
fn advise_large_pages(start: usize, bytes: usize) {
    const LARGE: usize = 2 << 20;
    // The whole 2 MiB blocks inside the allocation.
    let (first, last) = (
        start.next_multiple_of(LARGE),
        (start + bytes) / LARGE * LARGE,
    );
    if last > first {
        // SAFETY: [first, last) lies inside the vector's allocation, which
        // nothing uses yet; MADV_HUGEPAGE only changes how the kernel
        // backs those pages, never their contents. A failure is harmless.
        unsafe {
            libc::madvise(
                first as *mut libc::c_void,
                last - first,
                libc::MADV_HUGEPAGE,
            );
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_large_pages(_start: usize, _bytes: usize) {}
