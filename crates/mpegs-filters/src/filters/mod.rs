//! One module per filter (name, options, native kernel, circuit).

pub mod crop;
pub mod eq;
pub mod format;
pub mod hflip;
pub mod negate;
pub mod transpose;
pub mod vflip;
