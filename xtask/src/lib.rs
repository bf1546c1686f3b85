//! The book's build tool: builds both languages with mdBook as a library,
//! expands the book's own directives (formulas, listings, figures), draws
//! the figures, and checks sources and output.
//!
//! Run it as `cargo xtask book`; the checks also run under `cargo test`.

pub mod build;
pub mod cache;
pub mod checks;
pub mod citations;
pub mod config;
pub mod directives;
pub mod exercises;
pub mod figures;
pub mod files;
pub mod handout;
pub mod lang;
pub mod measure;
pub mod preprocess;
pub mod problem;
pub mod registry;
pub mod serve;
pub mod tidy;
pub mod values;
