//! Differential test against GLib 2.74's GKeyFile (what NetworkManager 1.42 reads keyfiles
//! with), through python3-gi: a generated corpus of keyfiles — valid, broken, odd — must load
//! or fail alike, and every key read the same way (raw value, string with escapes, list); and
//! our writer must escape values exactly as GLib's does.
//!
//! Needs /usr/bin/python3 with python3-gi (`apt-get install -y python3-gi`).

#![allow(clippy::disallowed_methods)] // Runs the Python peer.

use std::io::Write as _;
use std::process::{Command, Stdio};

use bm_nmconn::Document;
use serde_json::{Value, json};

/// splitmix64: a reproducible corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const GROUPS: &[&str] = &[
    "[connection]",
    "[ipv4]",
    "[ipv6]",
    "[ethernet]",
    "[802-3-ethernet]",
    "[ bond ]",
    "[bond]  ",
    "[vlan]\t",
    "[connection]",
    "[]",
    "[a[b]",
    "[ok] junk",
    "[unterminated",
    "  [ipv4]",
    // GLib reads a line up to its first NUL byte.
    "[ipv4]\0 junk",
    "[conn\0ection]",
    "\u{b}[ipv4]",
];

const KEYS: &[&str] = &[
    "id",
    "uuid",
    "type",
    "interface-name",
    "method",
    "address1",
    "dns",
    "dns-search",
    "mtu",
    "autoconnect",
    "id[de]",
    "key with space",
    " lead",
    "trail ",
    "a[b",
    "x]",
    "id[en_US.UTF-8@euro]",
    "Encoding",
    "i\0d",
    "vt\u{b}",
    "\u{b}vt",
];

const VALUES: &[&str] = &[
    "eth0",
    "manual",
    "10.10.99.99/24",
    "10.10.99.99\\24",
    "1.1.1.1;8.8.8.8;",
    "1.1.1.1,8.8.8.8",
    "a\\;b",
    "a\\;b;c;",
    "\\sleading",
    "trailing   ",
    "tab\\there",
    "new\\nline",
    "back\\\\slash",
    "bad\\q",
    "end\\",
    "",
    "=x",
    "UTF-8",
    "ISO-8859-1",
    "01500",
    "v=spf1 -all",
    "a;;b",
    "über",
    "  spaced",
    "ab\0cd",
    "\0",
    "a\r\0b",
    "\u{b}vt",
    "vt\u{b}",
    "\u{c}ff",
];

const OTHER: &[&str] = &[
    "",
    "   ",
    "# a comment",
    "  # indented comment",
    "; not a comment",
    "=novalue",
    "garbage",
    "\t",
    "\0garbage",
    "  \0 x=y",
    "# comment\0 x",
    "\u{b}",
    "\u{c}",
];

fn generate(rng: &mut Rng) -> String {
    let mut text = String::new();
    let lines = 1 + rng.next() % 9;
    let crlf = rng.next().is_multiple_of(7);
    let key_first = rng.next().is_multiple_of(11);
    if !key_first {
        text.push_str(rng.pick(&GROUPS[..5]));
        text.push_str(if crlf { "\r\n" } else { "\n" });
    }
    for _ in 0..lines {
        let line = match rng.next() % 10 {
            0 => rng.pick(GROUPS).to_string(),
            1 => rng.pick(OTHER).to_string(),
            _ => {
                let sep = rng.pick(&["=", " = ", "= ", " =", "=\t"]);
                format!("{}{sep}{}", rng.pick(KEYS), rng.pick(VALUES))
            }
        };
        text.push_str(&line);
        text.push_str(if crlf { "\r\n" } else { "\n" });
    }
    if rng.next().is_multiple_of(5) {
        text.pop(); // no final newline
        if crlf {
            text.pop();
        }
    }
    text
}

fn ours(text: &str) -> Value {
    let doc = match Document::parse(text) {
        Ok(d) => d,
        Err(e) => return json!({ "ok": false, "error": e.message }),
    };
    assert_eq!(doc.to_string(), text, "lossless");
    let mut groups = serde_json::Map::new();
    for g in doc.groups() {
        let mut keys = serde_json::Map::new();
        for k in doc.keys(g) {
            keys.insert(
                k.to_string(),
                json!({
                    "raw": doc.get_raw(g, k).map(|(r, _)| r),
                    "string": doc.get_string(g, k).ok().flatten(),
                    "list": doc.get_list(g, k).ok().flatten(),
                }),
            );
        }
        groups.insert(g.to_string(), Value::Object(keys));
    }
    json!({ "ok": true, "groups": groups, "order": doc.groups() })
}

#[test]
fn reads_and_escapes_like_glib() {
    let python = "/usr/bin/python3";
    assert!(
        Command::new(python)
            .args(["-c", "import gi; gi.require_version('GLib', '2.0')"])
            .status()
            .is_ok_and(|s| s.success()),
        "GLib through python3-gi is missing: apt-get install -y python3 python3-gi (this test never skips)"
    );
    let mut rng = Rng(0x006b_6579_6669_6c65);
    let docs: Vec<String> = (0..3000).map(|_| generate(&mut rng)).collect();
    let strings: Vec<String> = [
        "plain",
        " lead",
        "  two",
        "\tt",
        "mid dle",
        "trail ",
        "a;b",
        "back\\slash",
        "new\nline",
        "cr\rx",
        " \\ x",
        "über",
        "",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let lists: Vec<Vec<String>> = vec![
        vec!["1.1.1.1".into(), "8.8.8.8".into()],
        vec!["a;b".into(), " c".into()],
        vec![],
        vec!["".into(), "x".into()],
    ];
    let request = json!({ "docs": docs, "strings": strings, "lists": lists });
    let mut child = Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/glib_keyfile.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the GLib peer");
    child.stdin.take().unwrap().write_all(request.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let glib: Value = serde_json::from_slice(&out.stdout).unwrap();

    let mut mismatches = Vec::new();
    let (mut loaded, mut rejected) = (0, 0);
    for (i, text) in docs.iter().enumerate() {
        let theirs = &glib["docs"][i];
        let mine = ours(text);
        // Compare verdicts and, when loaded, everything read; error wording only by kind.
        let same = theirs["ok"] == mine["ok"]
            && (mine["ok"] == false || (theirs["groups"] == mine["groups"] && theirs["order"] == mine["order"]));
        if !same {
            mismatches.push(format!("{text:?}\n  glib: {theirs}\n  ours: {mine}"));
        }
        if mine["ok"] == true { loaded += 1 } else { rejected += 1 }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ from GLib:\n{}",
        mismatches.len(),
        docs.len(),
        mismatches[..mismatches.len().min(8)].join("\n")
    );
    assert!(loaded > 300 && rejected > 300, "the corpus exercises both: {loaded} loaded, {rejected} rejected");

    for (i, s) in strings.iter().enumerate() {
        let mut doc = Document::parse("[g]\n").unwrap();
        doc.set_string("g", "k", s);
        let (raw, _) = doc.get_raw("g", "k").unwrap();
        assert_eq!(raw, glib["escapes"][i], "escaping {s:?}");
        assert_eq!(doc.get_string("g", "k").unwrap().as_deref(), Some(s.as_str()), "reads back");
    }
    for (i, l) in lists.iter().enumerate() {
        let mut doc = Document::parse("[g]\n").unwrap();
        let refs: Vec<&str> = l.iter().map(String::as_str).collect();
        doc.set_list("g", "k", &refs);
        let (raw, _) = doc.get_raw("g", "k").unwrap();
        assert_eq!(raw, glib["list_escapes"][i], "escaping the list {l:?}");
    }
}
