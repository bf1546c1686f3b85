//! The conventions of the book, stated once for all listings.
//!
//! The notation page of the book (`src/de/notation.md`,
//! `src/en/notation.md`) says the same in prose:
//!
//! - A sample or a token is a **row**. A sequence of `n` tokens with `d`
//!   features each is a matrix `X` with shape `(n, d)`.
//! - A linear layer is `y = x W + b` with `W` of shape `(in, out)`, so that
//!   `Y = X W + 1 b` maps every row at once; queries are `Q = X W_Q`.
//! - Identifiers mirror the symbols of the book: `w_q` for `W_Q`, `d_k` for
//!   `d_k`, `n_heads` for `h`.
//! - Probabilities and logits are column vectors `DVector<T>` when there is
//!   one distribution, and rows of a `DMatrix<T>` when there are many.
//!
//! Every listing reports bad input through [`Error`], with a message that
//! names the argument and what was wrong, instead of returning a silently
//! wrong number or panicking deep inside `nalgebra`.

pub mod params;

pub use params::{Params, ParamsExt};

/// Why a listing refused its input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// An argument that must hold at least one element was empty.
    #[error("{what} is empty; it needs at least one element")]
    Empty {
        /// The argument, in words (`"logits z"`).
        what: &'static str,
    },
    /// An argument has the wrong shape.
    #[error("{what}: expected {expected}, got {got}")]
    Shape {
        /// The argument, in words.
        what: &'static str,
        /// The shape that was expected (`"4 columns"`).
        expected: String,
        /// The shape that was given (`"3 columns"`).
        got: String,
    },
    /// An entry is NaN or infinite where that is not allowed.
    #[error("{what}: entry {index} is {value}, which is not allowed here")]
    NotFinite {
        /// The argument, in words.
        what: &'static str,
        /// The position of the first offending entry.
        index: usize,
        /// The entry itself.
        value: f64,
    },
    /// A value is outside the domain of the formula.
    #[error("{what} = {value}, but it must satisfy {requirement}")]
    Domain {
        /// The argument, in words.
        what: &'static str,
        /// The condition it must meet (`"T > 0"`).
        requirement: &'static str,
        /// The value that was given.
        value: f64,
    },
}

/// The scalar type of the listings: `f64` for the book and its reference
/// tests, `f32` where speed matters. Every `Real` converts losslessly to
/// `f64`, which the error messages use.
pub trait Real: nalgebra::RealField + Copy + Into<f64> {}

impl<T: nalgebra::RealField + Copy + Into<f64>> Real for T {}

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
