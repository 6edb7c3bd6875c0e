//! The C ABI from C: `tests/c/test_bmnet.c`, compiled with gcc against `include/bmnet.h` and
//! linked through `bmnet.pc` (static) and `bmnet-shared.pc`, runs every function under
//! valgrind memcheck; any memory error or leak fails the test.
//!
//! Needs gcc, pkg-config and valgrind (`apt-get install -y gcc pkg-config valgrind`); without
//! them the test fails with that command.

#![allow(clippy::disallowed_methods)] // Compiles and runs programs, writes scratch files.

mod util;

use std::process::Command;

use util::{Scratch, capi_dirs, run, tool};

#[test]
fn c_program_under_valgrind_static_and_shared() {
    tool("gcc", "gcc");
    tool("pkg-config", "pkg-config");
    tool("valgrind", "valgrind");
    let dirs = capi_dirs();
    let scratch = Scratch::new("c-abi");
    let pc_path = dirs.pkg_config_dir(&scratch);
    let source = dirs.crate_dir.join("tests/c/test_bmnet.c");

    for (pc, exe) in [("bmnet", "test_static"), ("bmnet-shared", "test_shared")] {
        let flags = run(Command::new("pkg-config").args(["--cflags", "--libs", pc]).env("PKG_CONFIG_PATH", &pc_path));
        let flags = String::from_utf8(flags.stdout).unwrap();
        let exe = scratch.path.join(exe);
        run(Command::new("gcc")
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread", "-g", "-o"])
            .arg(&exe)
            .arg(&source)
            .args(flags.split_whitespace()));
        let out = run(Command::new("valgrind")
            .args([
                "--quiet",
                "--error-exitcode=99",
                "--leak-check=full",
                "--show-leak-kinds=all",
                "--errors-for-leak-kinds=all",
            ])
            .arg(&exe)
            .env("LD_LIBRARY_PATH", dirs.linked_lib_dir(&scratch)));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("checks passed"), "{pc}: {stdout}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.trim().is_empty(), "{pc}: valgrind or the program reported:\n{stderr}");
    }
}
