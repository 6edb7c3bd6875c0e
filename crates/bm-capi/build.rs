//! libbmnet.so carries its SONAME, `libbmnet.so.0`: the name programs linked against it record
//! and the loader looks for, so that an install can keep several incompatible libraries side
//! by side (`make install` puts `libbmnet.so.VERSION` with the `.so.0` and `.so` links).
//! The major number stays 0 until the crate reaches 1.0; finer incompatibilities within it are
//! caught at run time through `bm_abi_version()`.

fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libbmnet.so.{}", soversion());
    println!("cargo:rerun-if-changed=build.rs");
}

/// The SONAME's number: the crate's major version.
fn soversion() -> String {
    std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".to_string())
}
