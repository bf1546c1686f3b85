//! Shape checks shared by the listings of every chapter: each returns an
//! error that names the argument, the expected shape and the given shape,
//! so that bad input never reaches nalgebra (which would panic) or gives a
//! wrong number.

use crate::Error;
use nalgebra::DMatrix;

/// `m` has at least one row and one column.
pub fn non_empty<T>(what: &'static str, m: &DMatrix<T>) -> Result<(), Error> {
    if m.nrows() == 0 || m.ncols() == 0 {
        return Err(Error::Empty { what });
    }
    Ok(())
}

/// `m` has `cols` columns; `meaning` says where that number comes from.
pub fn cols<T>(
    what: &'static str,
    m: &DMatrix<T>,
    cols: usize,
    meaning: &str,
) -> Result<(), Error> {
    if m.ncols() != cols {
        return Err(Error::Shape {
            what,
            expected: format!("{cols} columns ({meaning})"),
            got: format!("{} columns", m.ncols()),
        });
    }
    Ok(())
}

/// `m` has `rows` rows; `meaning` says where that number comes from.
pub fn rows<T>(
    what: &'static str,
    m: &DMatrix<T>,
    rows: usize,
    meaning: &str,
) -> Result<(), Error> {
    if m.nrows() != rows {
        return Err(Error::Shape {
            what,
            expected: format!("{rows} rows ({meaning})"),
            got: format!("{} rows", m.nrows()),
        });
    }
    Ok(())
}

/// `m` has shape `(rows, cols)`; `meaning` names the two numbers.
pub fn shape<T>(
    what: &'static str,
    m: &DMatrix<T>,
    (rows, cols): (usize, usize),
    meaning: &str,
) -> Result<(), Error> {
    if m.shape() != (rows, cols) {
        return Err(Error::Shape {
            what,
            expected: format!("shape ({rows}, {cols}) ({meaning})"),
            got: format!("shape ({}, {})", m.nrows(), m.ncols()),
        });
    }
    Ok(())
}

/// `v` is a row (a bias, `γ`, `β`: shape `(1, len)`) of `len` entries;
/// `meaning` says where that number comes from.
pub fn row<T>(
    what: &'static str,
    v: &DMatrix<T>,
    len: usize,
    meaning: &str,
) -> Result<(), Error> {
    if v.nrows() != 1 {
        return Err(Error::Shape {
            what,
            expected: format!("a row of {len} entries ({meaning})"),
            got: format!("shape ({}, {})", v.nrows(), v.ncols()),
        });
    }
    if v.len() != len {
        return Err(Error::Shape {
            what,
            expected: format!("{len} entries ({meaning})"),
            got: format!("{} entries", v.len()),
        });
    }
    Ok(())
}

/// Every entry of `m` is finite (no NaN, no `±∞`).
pub fn finite<T: crate::Real>(
    what: &'static str,
    m: &DMatrix<T>,
) -> Result<(), Error> {
    let ok = m.as_slice().iter().fold(true, |ok, x| ok & x.is_finite());
    if ok {
        return Ok(());
    }
    let k = m.iter().position(|x| !x.is_finite()).unwrap_or(0);
    // Column-major position k, reported row by row as the book writes it.
    let (r, c) = (k % m.nrows(), k / m.nrows());
    Err(Error::NotFinite {
        what,
        index: r * m.ncols() + c,
        value: m[(r, c)].into(),
    })
}
