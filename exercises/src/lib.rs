//! The book's code exercises. Each module `chNN_M` is exercise `N.M` of
//! the page `Aufgaben` / `Exercises` of chapter `N`: with the feature
//! `stubs` it is the student's stub `stubs/chNN_M.rs`, without it the
//! reference solution `solutions/chNN_M.rs`. The tests in
//! `tests/chNN_M.rs` run against either; see `README.md`.

// A stub leaves its arguments unused until the student fills it in.
#![cfg_attr(
    feature = "stubs",
    allow(unused_variables, unused_imports, unused_mut, dead_code)
)]

pub mod support;

// Chapter 1
#[cfg_attr(feature = "stubs", path = "../stubs/ch01_7.rs")]
#[cfg_attr(not(feature = "stubs"), path = "../solutions/ch01_7.rs")]
pub mod ch01_7;
#[cfg_attr(feature = "stubs", path = "../stubs/ch01_8.rs")]
#[cfg_attr(not(feature = "stubs"), path = "../solutions/ch01_8.rs")]
pub mod ch01_8;

// Chapter 2
#[cfg_attr(feature = "stubs", path = "../stubs/ch02_7.rs")]
#[cfg_attr(not(feature = "stubs"), path = "../solutions/ch02_7.rs")]
pub mod ch02_7;
#[cfg_attr(feature = "stubs", path = "../stubs/ch02_8.rs")]
#[cfg_attr(not(feature = "stubs"), path = "../solutions/ch02_8.rs")]
pub mod ch02_8;

// Chapter 3
#[cfg_attr(feature = "stubs", path = "../stubs/ch03_7.rs")]
#[cfg_attr(not(feature = "stubs"), path = "../solutions/ch03_7.rs")]
pub mod ch03_7;
#[cfg_attr(feature = "stubs", path = "../stubs/ch03_8.rs")]
#[cfg_attr(not(feature = "stubs"), path = "../solutions/ch03_8.rs")]
pub mod ch03_8;

// Chapter 4
#[cfg_attr(feature = "stubs", path = "../stubs/ch04_4.rs")]
#[cfg_attr(not(feature = "stubs"), path = "../solutions/ch04_4.rs")]
pub mod ch04_4;
#[cfg_attr(feature = "stubs", path = "../stubs/ch04_5.rs")]
#[cfg_attr(not(feature = "stubs"), path = "../solutions/ch04_5.rs")]
pub mod ch04_5;
