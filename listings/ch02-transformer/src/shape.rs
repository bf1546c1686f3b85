//! The shape checks of the listings, which live in `notation` (every
//! chapter uses them); kept under this name for the code of chapter 2.

pub use notation::shape::*;
