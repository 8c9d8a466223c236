//! One module per filter (name, options, native kernel, circuit).

pub mod boxblur;
pub mod crop;
pub mod drawbox;
pub mod eq;
pub mod format;
pub mod hflip;
pub mod lut;
pub mod negate;
pub mod overlay;
pub mod pad;
pub mod scale;
pub mod transpose;
pub mod vflip;
