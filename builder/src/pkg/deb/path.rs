//! Entry paths of a package are normalized as every image path is
//! (`cairn_boot::path`): `..` and NUL refused, so nothing leaves the root.

pub use cairn_boot::path::normalize;
