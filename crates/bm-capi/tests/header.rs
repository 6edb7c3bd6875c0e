//! `include/bmnet.h` is what cbindgen generates from the crate today. To refresh it after
//! changing the ABI: `BMNET_BLESS=1 cargo test -p bm-capi --test header`.

#![allow(clippy::disallowed_methods)] // Reads and writes the header file.

use std::path::Path;

#[test]
fn header_is_up_to_date() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let generated = String::from_utf8(generated).unwrap();
    let path = dir.join("include/bmnet.h");
    if std::env::var_os("BMNET_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "include/bmnet.h is out of date; regenerate it with `BMNET_BLESS=1 cargo test -p bm-capi --test header`"
    );
}
