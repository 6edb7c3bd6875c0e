//! `edit::set_property` against `nmcli --offline connection modify`: for each property and
//! value, our edited file, passed through nmcli with a no-op change to put it in NetworkManager's
//! canonical form, is byte-identical to what nmcli's own modify writes. Needs nmcli
//! (network-manager).

#![allow(clippy::disallowed_methods)] // Runs nmcli.

use std::io::Write as _;
use std::process::{Command, Stdio};

use bm_nmconn::Document;
use bm_nmconn::edit::{EditError, set_property};

const BASE: &str = "[connection]\nid=eth0\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\ntype=ethernet\ninterface-name=eth0\n\n[ethernet]\n\n[ipv4]\nmethod=auto\n\n[ipv6]\naddr-gen-mode=default\nmethod=auto\n\n[proxy]\n";
const BOND: &str = "[connection]\nid=bond0\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f71\ntype=bond\ninterface-name=bond0\n\n[bond]\nmode=active-backup\n\n[ipv4]\nmethod=auto\n\n[ipv6]\naddr-gen-mode=default\nmethod=auto\n\n[proxy]\n";

fn nmcli(input: &str, args: &[&str]) -> Result<String, String> {
    let mut child = Command::new("nmcli")
        .args(["--offline", "connection", "modify"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nmcli is missing: apt-get install -y network-manager (this test never skips)");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn edits_match_nmcli_modify() {
    let cases: &[(&str, &[(&str, &str)])] = &[
        (BASE, &[("ipv4.method", "manual"), ("ipv4.addresses", "10.0.0.5/24")]),
        (
            BASE,
            &[("ipv4.method", "manual"), ("ipv4.addresses", "10.0.0.5/24, 10.0.1.5/16"), ("ipv4.gateway", "10.0.0.1")],
        ),
        (BASE, &[("ipv4.dns", "1.1.1.1,8.8.8.8")]),
        (BASE, &[("ipv4.dns", "1.1.1.1 8.8.8.8")]),
        (BASE, &[("ipv4.dns-search", "a.example.com,b.example.com")]),
        // nmcli splits lists on commas and every ASCII whitespace but `\v` (the `nmconn_set`
        // fuzz target's `,<FF><FF>,,` once made an element that GLib reads as empty).
        (BASE, &[("match.interface-name", "\u{c}\u{c}eth0,\u{c}eth1\u{c}eth2\r\neth3")]),
        (BASE, &[("ipv4.dns-search", "\u{c}a.example.com\u{c}b.example.com")]),
        (BASE, &[("ipv6.method", "manual"), ("ipv6.addresses", "fd00::5/64"), ("ipv6.gateway", "fd00::1")]),
        (BASE, &[("ipv6.dns", "fd00::53")]),
        (
            BASE,
            &[
                ("ipv4.method", "manual"),
                ("ipv4.addresses", "10.0.0.5/24"),
                ("ipv4.routes", "10.1.0.0/16 10.0.0.1 100"),
            ],
        ),
        (
            BASE,
            &[
                ("ipv4.method", "manual"),
                ("ipv4.addresses", "10.0.0.5/24"),
                ("ipv4.routes", "10.1.0.0/16 10.0.0.1, 10.2.0.0/16 50"),
            ],
        ),
        (
            BASE,
            &[
                ("ipv4.method", "manual"),
                ("ipv4.addresses", "10.0.0.5/24"),
                ("ipv4.routes", "10.1.0.0/16 10.0.0.1 table=100"),
            ],
        ),
        (BASE, &[("802-3-ethernet.mtu", "9000")]),
        (BASE, &[("ethernet.mac-address", "52:54:00:aa:bb:cc")]),
        (BASE, &[("connection.autoconnect", "no")]),
        (BASE, &[("connection.autoconnect-priority", "-5")]),
        (BASE, &[("connection.zone", "trusted")]),
        (BASE, &[("ipv4.never-default", "yes"), ("ipv4.may-fail", "no")]),
        (BASE, &[("ipv4.route-metric", "50")]),
        (BASE, &[("ipv6.addr-gen-mode", "eui64")]),
        (BASE, &[("connection.master", "bond0"), ("connection.slave-type", "bond")]),
        (BOND, &[("bond.options", "mode=802.3ad,miimon=100,lacp_rate=fast,xmit_hash_policy=layer3+4")]),
        (BOND, &[("connection.interface-name", "bond1")]),
        // Whitespace around a value: nmcli keeps it in a string, and reads numbers, booleans
        // and lists without it.
        (BASE, &[("connection.zone", " trusted ")]),
        (BASE, &[("connection.id", " my id ")]),
        (BASE, &[("connection.stable-id", "\tx\t")]),
        (BASE, &[("ipv4.dhcp-hostname", " host ")]),
        (BASE, &[("802-3-ethernet.mtu", " 9000 ")]),
        (BASE, &[("connection.autoconnect", " no ")]),
        (BASE, &[("ipv4.dns-search", " a.example.com ")]),
    ];
    let mut wrong = Vec::new();
    for (base, edits) in cases {
        let mut doc = Document::parse(base).unwrap();
        let mut args = Vec::new();
        for (p, v) in *edits {
            set_property(&mut doc, p, v).unwrap_or_else(|e| panic!("{p} {v}: {e}"));
            args.push(*p);
            args.push(*v);
        }
        // Both through nmcli's reader and writer once more: a file nmcli writes after its own
        // modify is not always what it writes after reading that file back (a port gains
        // [bond-port]).
        let noop = ["connection.autoconnect-retries", "-1"];
        let theirs = nmcli(base, &args).unwrap_or_else(|e| panic!("nmcli {args:?}: {e}"));
        let theirs = nmcli(&theirs, &noop).unwrap();
        let ours =
            nmcli(&doc.to_string(), &noop).unwrap_or_else(|e| panic!("nmcli refuses our edit {args:?}: {e}\n{doc}"));
        if ours != theirs {
            wrong.push(format!("{args:?}\n--- ours (canonicalised)\n{ours}--- nmcli\n{theirs}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn edits_refuse_what_nmcli_refuses() {
    let mut doc = Document::parse(BASE).unwrap();
    for (p, v) in [
        ("ipv4.addresses", "10.10.99.99\\24"),
        ("ipv4.dns", "fd00::53"),
        ("802-3-ethernet.mtu", "15OO"),
        ("connection.autoconnect", "maybe"),
        ("ipv4.routes", "10.1.0.0/16 via 10.0.0.1"),
        ("bond.options", "mode"),
    ] {
        let ours = set_property(&mut doc, p, v);
        assert!(matches!(ours, Err(EditError::InvalidValue { .. })), "{p}={v}: {ours:?}");
        assert!(nmcli(BASE, &[p, v]).is_err(), "nmcli accepts {p}={v}");
    }
    let e = set_property(&mut doc, "ipv4.adresses", "10.0.0.5/24").unwrap_err();
    assert_eq!(e.to_string(), "unknown property `ipv4.adresses`; did you mean `ipv4.addresses`?");
    assert!(nmcli(BASE, &["ipv4.adresses", "10.0.0.5/24"]).is_err());
    assert_eq!(doc.to_string(), BASE, "a refused edit changes nothing");
}

/// Found by the `nmconn_set` fuzz target: a value with NUL bytes was written into the file,
/// where GLib reads the line only up to the first one (`driver=<NUL><NUL>A<NUL>;` loads as an
/// empty list). No escape stands for NUL, so the edit is refused. (nmcli cannot be handed a
/// NUL: arguments are C strings.)
#[test]
fn values_with_a_nul_byte_are_refused() {
    let mut doc = Document::parse(BASE).unwrap();
    for (p, v) in [("match.driver", "\x0c\x0c\0\0A\0"), ("connection.zone", "ab\0cd"), ("bond.options", "primary=a\0")]
    {
        let e = set_property(&mut doc, p, v).unwrap_err();
        assert!(matches!(e, EditError::InvalidValue { .. }), "{p}={v:?}: {e:?}");
        assert!(e.to_string().contains("NUL"), "{e}");
    }
    assert_eq!(doc.to_string(), BASE, "a refused edit changes nothing");
}

/// Found by the `nmconn_check` fuzz target: an option name that would turn into a comment or
/// break the line.
#[test]
fn option_names_that_would_break_the_file_are_refused() {
    let mut doc = Document::parse(BOND).unwrap();
    for bad in ["##\r=,=", "#x=1", "a\nb=1", "[x]=1", " =1"] {
        assert!(set_property(&mut doc, "bond.options", bad).is_err(), "{bad:?}");
    }
    assert_eq!(doc.to_string(), BOND);
}

/// Found by the `nmconn_set` fuzz target: `ethernet.mac-address` on a file written with
/// `[802-3-ethernet]` (the setting's long name, as older tools write it) went into a new
/// `[ethernet]` group, which NetworkManager does not read beside `[802-3-ethernet]`: the edit
/// was accepted and the MAC address never applied. It goes into `[802-3-ethernet]` now.
#[test]
fn ethernet_properties_go_where_networkmanager_reads_them() {
    let old = "[connection]\nid=old\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\ntype=802-3-ethernet\ninterface-name=eth1\n\n\
               [802-3-ethernet]\nmtu=1500\n\n[ipv4]\nmethod=auto\n";
    let mut doc = Document::parse(old).unwrap();
    set_property(&mut doc, "ethernet.mac-address", "a1-62-91-0c-91-91").unwrap();
    set_property(&mut doc, "802-3-ethernet.mtu", "9000").unwrap();
    assert_eq!(
        doc.to_string(),
        old.replace("mtu=1500\n", "mtu=9000\nmac-address=A1:62:91:0C:91:91\n"),
        "edited in place, no [ethernet] group"
    );
    let loaded = bm_nmconn::Profile::read(&doc).ethernet.unwrap();
    assert_eq!((loaded.mac_address, loaded.mtu), (Some([0xa1, 0x62, 0x91, 0x0c, 0x91, 0x91]), 9000));
    // NetworkManager itself loads both.
    let theirs = nmcli(&doc.to_string(), &["connection.autoconnect-retries", "-1"]).unwrap();
    assert!(theirs.contains("[ethernet]\nmac-address=A1:62:91:0C:91:91\nmtu=9000\n"), "{theirs}");
}

/// Several properties at once, checked as a whole: what NetworkManager would refuse or alter is
/// refused and changes nothing; errors the file already had do not block an unrelated edit.
#[test]
fn edits_that_networkmanager_would_not_load_are_refused() {
    use bm_nmconn::check::CheckOptions;
    use bm_nmconn::diag::Code;
    use bm_nmconn::edit::set_properties;
    let options = CheckOptions::default();
    let mut doc = Document::parse(BASE).unwrap();
    // A value NetworkManager would read as another one.
    let err =
        set_properties(&mut doc, &[("ipv4.method", "manual"), ("802-3-ethernet.mtu", "9000")], &options).unwrap_err();
    let EditError::Refused { diagnostics, text } = err else { panic!("{err:?}") };
    assert_eq!(diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(), [Code::ManualWithoutAddresses]);
    assert!(text.contains("method=manual") && text.contains("mtu=9000"), "the refused result: {text}");
    assert_eq!(doc.to_string(), BASE, "nothing changed");
    // The same with an address is accepted, whole.
    set_properties(&mut doc, &[("ipv4.method", "manual"), ("ipv4.addresses", "10.0.0.5/24")], &options).unwrap();
    assert!(doc.to_string().contains("[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\n"), "{doc}");
    // A file with an error of its own (an octal MTU) still takes an unrelated edit.
    let mut broken = Document::parse(&BASE.replace("[ethernet]\n", "[ethernet]\nmtu=01500\n")).unwrap();
    set_properties(&mut broken, &[("connection.zone", "trusted")], &options).unwrap();
    assert!(broken.to_string().contains("zone=trusted"));
    // An unknown property is an error of its own, and changes nothing either.
    let before = broken.to_string();
    let err = set_properties(&mut broken, &[("connection.zone", "x"), ("ipv4.adresses", "1")], &options).unwrap_err();
    assert!(matches!(err, EditError::UnknownProperty { .. }), "{err:?}");
    assert_eq!(broken.to_string(), before);
}

/// A string keeps the whitespace around it (as nmcli keeps it), so a name with some is one
/// NetworkManager refuses: nmcli refuses the edit, and the check after ours refuses it too.
#[test]
fn strings_with_whitespace_that_networkmanager_refuses_are_refused() {
    use bm_nmconn::check::CheckOptions;
    use bm_nmconn::edit::set_properties;
    let options = CheckOptions::default();
    for edits in [
        &[("connection.interface-name", " eth1 ")][..],
        &[("connection.master", "bond0"), ("connection.slave-type", " bond ")][..],
    ] {
        let mut doc = Document::parse(BASE).unwrap();
        let ours = set_properties(&mut doc, edits, &options);
        assert!(matches!(ours, Err(EditError::Refused { .. })), "{edits:?}: {ours:?}");
        assert_eq!(doc.to_string(), BASE, "a refused edit changes nothing");
        let args: Vec<&str> = edits.iter().flat_map(|(p, v)| [*p, *v]).collect();
        assert!(nmcli(BASE, &args).is_err(), "nmcli accepts {edits:?}");
    }
}

/// Found by the `nmconn_set` fuzz target once strings kept their whitespace: GLib drops
/// whitespace at the start of a value when it reads one, and no escape keeps a form feed there.
/// nmcli writes such an id all the same, and it reads back without it; ours refuses it (and a
/// form feed anywhere else, or before a number, is kept or trimmed as nmcli does).
#[test]
fn strings_starting_with_a_form_feed_are_refused() {
    let mut doc = Document::parse(BASE).unwrap();
    for property in ["connection.id", "connection.zone", "connection.master"] {
        let ours = set_property(&mut doc, property, "\u{c}x");
        assert!(matches!(ours, Err(EditError::InvalidValue { .. })), "{property}: {ours:?}");
    }
    assert_eq!(doc.to_string(), BASE, "a refused edit changes nothing");
    let theirs = nmcli(BASE, &["connection.id", "\u{c}x"]).unwrap();
    assert!(theirs.contains("id=\u{c}x\n"), "nmcli writes the form feed:\n{theirs}");
    let reread = nmcli(&theirs, &["connection.autoconnect-retries", "-1"]).unwrap();
    assert!(reread.contains("\nid=x\n"), "and NetworkManager reads the id without it:\n{reread}");
    set_property(&mut doc, "connection.id", "x\u{c}").unwrap();
    set_property(&mut doc, "802-3-ethernet.mtu", "\u{c}9000").unwrap();
    assert!(doc.to_string().contains("id=x\u{c}\n") && doc.to_string().contains("mtu=9000\n"), "{doc}");
}
