//! The matrix products of the `*_fast` kernels: nalgebra's own product
//! (the `matrixmultiply` crate) by default, or the system's BLAS with the
//! cargo feature `blas`.
//!
//! With `--features blas`, products of `f32` and `f64` matrices whose
//! three sides all exceed [`BLAS_MIN`] go to `cblas_sgemm` / `cblas_dgemm`
//! of OpenBLAS (Debian: `apt-get install libopenblas-dev`); everything
//! else stays with nalgebra. Without the feature nothing links to a C
//! library. The README's "Performance" section measures both and says
//! why nalgebra's product is the default.

use nalgebra::{DMatrix, Dyn, MatrixView, MatrixViewMut};
use notation::Real;

/// A view with any row and column stride (nalgebra's `gemm` hands both to
/// `matrixmultiply`, which reads a transposed view without copying it).
pub(crate) type View<'a, T> = MatrixView<'a, T, Dyn, Dyn, Dyn, Dyn>;
pub(crate) type ViewMut<'a, T> = MatrixViewMut<'a, T, Dyn, Dyn, Dyn, Dyn>;

/// Products with a side of at most this length stay with nalgebra even
/// with the `blas` feature: for them the call costs more than it saves.
pub const BLAS_MIN: usize = 16;

/// Which code multiplies the large matrices of the fast variants in this
/// build: `"OpenBLAS"` with the `blas` feature, else `"nalgebra"`.
pub const BACKEND: &str = if cfg!(feature = "blas") {
    "OpenBLAS"
} else {
    "nalgebra"
};

/// `A B` as a new matrix, by the backend of this build (see [`BACKEND`]).
///
/// # Panics
/// If `a.ncols() != b.nrows()`, as nalgebra's `a * b` does.
pub fn matmul<T: Real>(a: &DMatrix<T>, b: &DMatrix<T>) -> DMatrix<T> {
    assert_eq!(
        a.ncols(),
        b.nrows(),
        "matmul: A has {} columns, B has {} rows",
        a.ncols(),
        b.nrows()
    );
    product_new(T::one(), &view(a), &view(b))
}

/// `c = α a b` (`c`'s old entries are overwritten). `c` must be stored
/// column by column (row stride 1); `a` and `b` may be transposed views.
pub(crate) fn product<T: Real>(
    c: &mut ViewMut<T>,
    alpha: T,
    a: &View<T>,
    b: &View<T>,
) {
    #[cfg(feature = "blas")]
    if blas::product(c, alpha, a, b) {
        return;
    }
    nalgebra_product(c, alpha, a, b);
}

/// nalgebra hands products whose sides all exceed 5 to `matrixmultiply`,
/// strides and all; smaller ones it computes column by column, which is
/// slow and (in nalgebra 0.35) mishandles a transposed view, so those are
/// multiplied as owned matrices.
fn nalgebra_product<T: Real>(
    c: &mut ViewMut<T>,
    alpha: T,
    a: &View<T>,
    b: &View<T>,
) {
    const SMALL: usize = 5;
    if a.nrows().min(a.ncols()).min(b.ncols()) > SMALL {
        c.gemm(alpha, a, b, T::zero());
    } else {
        c.copy_from(&(a.clone_owned() * b.clone_owned() * alpha));
    }
}

/// `M` as a view (no copy).
pub(crate) fn view<T: Real>(m: &DMatrix<T>) -> View<'_, T> {
    View::from_slice_with_strides(
        m.as_slice(),
        m.nrows(),
        m.ncols(),
        1,
        m.nrows(),
    )
}

/// `Mᵀ` as a view: no copy, only the strides are swapped.
pub(crate) fn view_t<T: Real>(m: &DMatrix<T>) -> View<'_, T> {
    View::from_slice_with_strides(
        m.as_slice(),
        m.ncols(),
        m.nrows(),
        m.nrows(),
        1,
    )
}

/// `α A B` as a new matrix; `A`, `B` are views, possibly transposed.
pub(crate) fn product_new<T: Real>(
    alpha: T,
    a: &View<T>,
    b: &View<T>,
) -> DMatrix<T> {
    let (rows, cols) = (a.nrows(), b.ncols());
    let mut c = DMatrix::zeros(rows, cols);
    let mut cv = ViewMut::from_slice_with_strides_mut(
        c.as_mut_slice(),
        rows,
        cols,
        1,
        rows,
    );
    product(&mut cv, alpha, a, b);
    c
}

/// Sets the number of threads OpenBLAS uses (the benchmarks use 1, so
/// that both sides are timed on one thread).
#[cfg(feature = "blas")]
pub fn set_blas_threads(n: usize) {
    blas::set_threads(n)
}

#[cfg(feature = "blas")]
mod blas {
    use std::any::TypeId;
    use std::os::raw::c_int;

    use cblas_sys::{CBLAS_LAYOUT, CBLAS_TRANSPOSE, cblas_dgemm, cblas_sgemm};
    use notation::Real;

    use super::{BLAS_MIN, View, ViewMut};

    // The CBLAS functions of cblas-sys come from OpenBLAS.
    #[link(name = "openblas")]
    unsafe extern "C" {
        fn openblas_set_num_threads(n: c_int);
    }

    pub fn set_threads(n: usize) {
        let n = c_int::try_from(n.max(1)).unwrap_or(c_int::MAX);
        // SAFETY: a plain setter of OpenBLAS with a positive count.
        unsafe { openblas_set_num_threads(n) }
    }

    /// How BLAS reads a column-major operand with these strides: as it
    /// is (row stride 1), or transposed (column stride 1); `None` if
    /// neither stride is 1.
    fn layout<T>(m: &View<T>) -> Option<(CBLAS_TRANSPOSE, c_int)> {
        let (rs, cs) = m.strides();
        let lead = |s: usize| c_int::try_from(s.max(1)).ok();
        if rs == 1 {
            Some((CBLAS_TRANSPOSE::CblasNoTrans, lead(cs.max(m.nrows()))?))
        } else if cs == 1 {
            Some((CBLAS_TRANSPOSE::CblasTrans, lead(rs.max(m.ncols()))?))
        } else {
            None
        }
    }

    /// `c = α a b` by `cblas_?gemm` if `T` is `f32` or `f64`, all sides
    /// exceed [`BLAS_MIN`] and the strides suit BLAS; returns whether it
    /// did.
    pub fn product<T: Real>(
        c: &mut ViewMut<T>,
        alpha: T,
        a: &View<T>,
        b: &View<T>,
    ) -> bool {
        let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
        if m.min(k).min(n) <= BLAS_MIN || c.strides().0 != 1 {
            return false;
        }
        let (Some((ta, lda)), Some((tb, ldb))) = (layout(a), layout(b)) else {
            return false;
        };
        let (Ok(mi), Ok(ki), Ok(ni), Ok(ldc)) = (
            c_int::try_from(m),
            c_int::try_from(k),
            c_int::try_from(n),
            c_int::try_from(c.strides().1.max(m)),
        ) else {
            return false;
        };
        let col = CBLAS_LAYOUT::CblasColMajor;
        let (pa, pb, pc) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        let alpha: f64 = alpha.into();
        // SAFETY: `T` is the type the pointers are cast to (TypeId just
        // checked); the views hold `m × k`, `k × n`, `m × n` entries at
        // the strides passed as leading dimensions, so BLAS reads and
        // writes only inside them; `c` does not overlap `a` or `b`
        // (it is borrowed mutably while they are borrowed). One call,
        // written once for both precisions.
        macro_rules! gemm {
            ($f:ident, $t:ty) => {
                unsafe {
                    $f(
                        col,
                        ta,
                        tb,
                        mi,
                        ni,
                        ki,
                        alpha as $t,
                        pa.cast(),
                        lda,
                        pb.cast(),
                        ldb,
                        0.0,
                        pc.cast(),
                        ldc,
                    )
                }
            };
        }
        if TypeId::of::<T>() == TypeId::of::<f32>() {
            gemm!(cblas_sgemm, f32);
            return true;
        }
        if TypeId::of::<T>() == TypeId::of::<f64>() {
            gemm!(cblas_dgemm, f64);
            return true;
        }
        false
    }
}
