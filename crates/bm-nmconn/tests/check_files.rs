//! `check_files` on a directory, as `bmnet nmconn check DIR` drives it, against the one-file
//! path through the public API: every file's report is the one `check_bytes` gives it alone
//! (its name from its path), the set diagnostics are `check_set`'s over those reports, and the
//! number of threads changes nothing. The directory is big enough to be cut into several
//! chunks, and holds what the directory rules look for: duplicate UUIDs and ids, ports with and
//! without their controller, a file NetworkManager refuses for its mode, one for its owner,
//! text that is not UTF-8, a profile named after its file.

#![allow(clippy::disallowed_methods)] // Writes and reads the directory.

use std::fs;
use std::num::NonZeroUsize;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

use bm_nmconn::check::{CheckOptions, FileFacts, FileInput, check_bytes, check_files, check_set};
use bm_nmconn::diag::Code;

/// One file of the directory: valid, or with one of the mistakes the rules look for.
fn keyfile(i: usize) -> Vec<u8> {
    let uuid = |n: usize| format!("0b3a5b6e-2a4f-4c9b-9b0e-{n:012x}");
    let text = match i % 10 {
        // A bond, and ports of it (bond0..bond3 exist; bond7 does not).
        0 => format!(
            "[connection]\nid=bond{i}\nuuid={}\ntype=bond\ninterface-name=bond{}\n\n[bond]\nmode=802.3ad\nmiimon=100\n\n[ipv4]\nmethod=auto\n",
            uuid(i),
            i / 10 % 4
        ),
        1 => format!(
            "[connection]\nid=port{i}\nuuid={}\ntype=ethernet\ninterface-name=eth{i}\nmaster=bond{}\nslave-type=bond\n",
            uuid(i),
            if i % 30 == 1 { 7 } else { i % 4 }
        ),
        // The same UUID as the file before it.
        2 if i % 20 == 2 => {
            format!("[connection]\nid=dup{i}\nuuid={}\ntype=ethernet\n[ipv4]\nmethod=auto\n", uuid(i - 1))
        }
        // The same id as file 3.
        3 if i > 3 => format!("[connection]\nid=static3\nuuid={}\ntype=ethernet\n[ipv4]\nmethod=auto\n", uuid(i)),
        // No id: NetworkManager names the profile after the file.
        4 => format!("[connection]\nuuid={}\ntype=ethernet\n[ipv4]\nmethod=auto\n", uuid(i)),
        // A mistake of one file's own.
        5 => format!(
            "[connection]\nid=eth{i}\nuuid={}\ntype=ethernet\n[ethernet]\nmtu=01500\n[ipv4]\nmethod=manual\naddress1=10.0.{}.1\\24\n",
            uuid(i),
            i % 250
        ),
        // Not UTF-8: GLib refuses the whole file.
        6 if i % 40 == 6 => return b"[connection]\nid=\xff\n".to_vec(),
        _ => format!(
            "[connection]\nid=static{i}\nuuid={}\ntype=ethernet\ninterface-name=ens{i}\n\n[ethernet]\nmtu=9000\n\n[ipv4]\naddress1=10.{}.0.{}/24,10.{}.0.1\ndns=10.0.0.53;\nmethod=manual\n\n[ipv6]\naddr-gen-mode=default\nmethod=auto\n",
            uuid(i),
            i / 250 % 250,
            i % 250 + 2,
            i / 250 % 250
        ),
    };
    text.into_bytes()
}

#[test]
fn a_directory_checks_as_its_files_do_one_by_one() {
    let dir = std::env::temp_dir().join(format!("bm-nmconn-check-files-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let files = 600;
    for i in 0..files {
        let path = dir.join(format!("p{i:04}.nmconnection"));
        fs::write(&path, keyfile(i)).unwrap();
        // Mode 644 on some: NetworkManager refuses them.
        let mode = if i % 97 == 5 { 0o644 } else { 0o600 };
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    }
    // Read as `bmnet nmconn check DIR` reads it: sorted paths, bytes, mode and owner.
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    let read: Vec<(String, Vec<u8>, u32, u32)> = paths
        .iter()
        .map(|p| {
            let meta = fs::metadata(p).unwrap();
            // Root's, as under /etc, but for one file owned by someone else: refused too
            // (whoever runs the test).
            let uid = if p.ends_with("p0013.nmconnection") { 1000 } else { 0 };
            (p.display().to_string(), fs::read(p).unwrap(), meta.mode() & 0o7777, uid)
        })
        .collect();
    fs::remove_dir_all(&dir).unwrap();
    let inputs: Vec<FileInput<'_>> = read
        .iter()
        .map(|(path, bytes, mode, uid)| FileInput { path, bytes, mode: Some(*mode), uid: Some(*uid) })
        .collect();
    let total: usize = inputs.iter().map(|f| f.bytes.len()).sum();
    assert!(total > 4 * (16 << 10), "{total} bytes: several chunks");

    // The one-file path: each file alone, named after its path, then the set rules.
    let alone: Vec<_> = inputs
        .iter()
        .map(|f| {
            let name = f.path.rsplit('/').next().unwrap().to_string();
            check_bytes(f.bytes, &CheckOptions { file_name: Some(name), ..CheckOptions::default() })
        })
        .collect();
    let facts: Vec<FileFacts> = inputs
        .iter()
        .zip(&alone)
        .map(|(f, r)| FileFacts { name: f.path.to_string(), profile: r.profile.clone(), mode: f.mode, uid: f.uid })
        .collect();
    let set = check_set(&facts);

    for threads in [1, 2, 3, 8] {
        let report = check_files(&inputs, &CheckOptions::default(), NonZeroUsize::new(threads).unwrap());
        assert_eq!(report.files.len(), files);
        for (i, (together, alone)) in report.files.iter().zip(&alone).enumerate() {
            assert_eq!(together, alone, "{threads} threads, {}", inputs[i].path);
        }
        assert_eq!(report.set, set, "{threads} threads");
    }

    // And the directory is the one described above.
    let codes = |code: Code| set.iter().filter(|(_, d)| d.code == code).count();
    assert_eq!(codes(Code::UuidDuplicate), files / 20);
    assert!(codes(Code::IdDuplicate) > 0);
    assert_eq!(codes(Code::ControllerDangling), files / 30);
    assert_eq!(codes(Code::FileInsecure), files.div_ceil(97) + 1);
    let own = |code: Code| alone.iter().filter(|r| r.diagnostics.iter().any(|d| d.code == code)).count();
    assert_eq!(own(Code::LoadError), files / 40);
    assert_eq!(own(Code::IdFromFilename), files / 10);
    assert!(own(Code::IntegerOctal) > 0 && own(Code::AddressDropped) > 0);
}
