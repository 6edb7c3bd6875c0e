//! The document model through its public API: errors with their place, notices, lossless
//! writes, and edits that touch only the lines they change.

use bm_nmconn::{Document, EntryRef, NoticeKind, ParseErrorKind};
use proptest::prelude::*;

#[test]
fn rejections_name_line_and_column() {
    let e = Document::parse("[connection]\nid=a\n  ; a comment\n").unwrap_err();
    assert_eq!((e.line, e.column, e.kind.clone()), (3, 3, ParseErrorKind::NotKeyValue));
    assert_eq!(
        e.to_string(),
        "line 3, column 3: Key file contains line “; a comment” which is not a key-value pair, group, or comment"
    );
    let e = Document::parse("id=a\n[connection]\n").unwrap_err();
    assert_eq!((e.line, e.kind), (1, ParseErrorKind::NoGroup));
    assert_eq!(Document::parse("[]\n").unwrap_err().kind, ParseErrorKind::GroupName);
    assert_eq!(Document::parse("[c]\n key=x\n").map(|d| d.get_string("c", "key").unwrap()), Ok(Some("x".into())));
    assert_eq!(Document::parse("[c]\na[b=x\n").unwrap_err().kind, ParseErrorKind::KeyName);
    assert_eq!(Document::parse("[c]\nEncoding=latin1\n").unwrap_err().kind, ParseErrorKind::Encoding);
    assert_eq!(Document::parse("").unwrap_err().kind, ParseErrorKind::Empty);
}

#[test]
fn duplicates_and_repeated_groups_are_noticed_and_the_last_wins() {
    let doc = Document::parse("[connection]\nid=one\nid=two\n[ipv4]\n[connection]\nid=three\n").unwrap();
    assert_eq!(doc.get_string("connection", "id").unwrap().as_deref(), Some("three"));
    let kinds: Vec<(usize, &NoticeKind)> = doc.notices().iter().map(|n| (n.line, &n.kind)).collect();
    assert!(matches!(kinds[0], (3, NoticeKind::DuplicateKey { earlier: 2, .. })));
    assert!(matches!(kinds[1], (5, NoticeKind::RepeatedGroup { first: 1, .. })));
    assert!(matches!(kinds[2], (6, NoticeKind::DuplicateKey { earlier: 3, .. })));
    assert_eq!(doc.groups(), ["connection", "ipv4"]);
}

#[test]
fn lists_and_escapes() {
    let doc = Document::parse("[ipv4]\ndns=1.1.1.1;8.8.8.8;\nbad=1.1.1.1,8.8.8.8\nid=a\\;b\n").unwrap();
    assert_eq!(doc.get_list("ipv4", "dns").unwrap().unwrap(), ["1.1.1.1", "8.8.8.8"]);
    assert_eq!(doc.get_list("ipv4", "bad").unwrap().unwrap(), ["1.1.1.1,8.8.8.8"], "a comma is no separator");
    assert!(doc.get_string("ipv4", "id").is_err(), "\\; only in lists: NM loses connection.id");
}

#[test]
fn edits_touch_only_their_lines() {
    let text = "# written by hand\r\n[connection]\r\nid = eth0\r\ntype=ethernet\r\n\r\n[ipv4]\r\nmethod=auto\r\n";
    let mut doc = Document::parse(text).unwrap();
    doc.set_string("connection", "id", " lead;semi");
    assert_eq!(doc.to_string(), text.replace("id = eth0", "id = \\slead;semi"), "key, spacing and CRLF kept");
    doc.set_list("ipv4", "dns", &["1.1.1.1", "8.8.8.8"]);
    assert!(doc.to_string().ends_with("method=auto\r\ndns=1.1.1.1;8.8.8.8;\r\n"));
    doc.set_string("ethernet", "mtu", "9000");
    assert!(doc.to_string().ends_with("dns=1.1.1.1;8.8.8.8;\r\n\r\n[ethernet]\r\nmtu=9000\r\n"));
    assert!(doc.remove("ipv4", "dns"));
    assert!(!doc.remove("ipv4", "dns"));
    let reparsed = Document::parse(&doc.to_string()).unwrap();
    assert_eq!(reparsed.get_string("connection", "id").unwrap().as_deref(), Some(" lead;semi"));
    assert_eq!(reparsed.get_string("ethernet", "mtu").unwrap().as_deref(), Some("9000"));
}

/// GLib reads a line as a C string: up to its first NUL byte (checked with GLib 2.74 through
/// `load_from_bytes`: `k=ab<NUL>cd` reads `ab`, `[g]<NUL>junk` is group `g`, a line starting
/// with NUL is blank). The document keeps every byte, reads what GLib reads, and notes each NUL;
/// an edit that rewrites such a line drops what GLib never read. Found through the
/// `nmconn_set` fuzz target, which wrote NULs into a value and read them back.
#[test]
fn a_line_is_read_up_to_its_first_nul_byte() {
    let text = "[g]\0 junk\nk=ab\0cd\r\n\0garbage\n#c\0x\nt=a\r\0\nlast=v\0w";
    let mut doc = Document::parse(text).unwrap();
    assert_eq!(doc.to_string(), text, "lossless");
    assert_eq!(doc.groups(), ["g"]);
    assert_eq!(doc.get_raw("g", "k"), Some(("ab", 2)));
    assert_eq!(doc.get_raw("g", "t"), Some(("a\r", 5)), "the `\r` is dropped only before `\n`");
    assert_eq!(doc.get_raw("g", "last"), Some(("v", 6)));
    assert_eq!(doc.line_text(2), Some("k=ab"));
    let nuls: Vec<(usize, usize)> = doc
        .notices()
        .iter()
        .filter_map(|n| match n.kind {
            NoticeKind::NulByte { column } => Some((n.line, column)),
            _ => None,
        })
        .collect();
    assert_eq!(nuls, [(1, 4), (2, 5), (3, 1), (4, 3), (5, 5), (6, 7)]);
    assert_eq!(Document::parse("[g]\nk\0x=v\n").unwrap_err().kind, ParseErrorKind::NotKeyValue);
    assert_eq!(Document::parse("[g\0]\nk=v\n").unwrap_err().kind, ParseErrorKind::NotKeyValue);
    // Edits: a rewritten line loses its unread tail; the last line keeps its shape.
    doc.set_string("g", "k", "new");
    assert!(doc.to_string().starts_with("[g]\0 junk\nk=new\n\0garbage\n"), "{:?}", doc.to_string());
    doc.set_string("g", "added", "1");
    assert!(doc.to_string().ends_with("last=v\0w\nadded=1\n"), "{:?}", doc.to_string());
    let again = Document::parse(&doc.to_string()).unwrap();
    assert_eq!(again.to_string(), doc.to_string());
    assert_eq!((again.get_raw("g", "k"), again.get_raw("g", "last")), (Some(("new", 2)), Some(("v", 6))));
    // Removing the last line leaves the line before it last, without a newline, as it was.
    let mut doc = Document::parse("[g]\nk=1\0x\nlast=v").unwrap();
    assert!(doc.remove("g", "last"));
    assert_eq!(doc.to_string(), "[g]\nk=1\0x");
    let mut doc = Document::parse("[g]\nk=1\nlast=v\0x").unwrap();
    assert!(doc.remove("g", "last"));
    assert_eq!(doc.to_string(), "[g]\nk=1");
}

/// `g_ascii_isspace` is not C's `isspace`: a vertical tab is no whitespace to GLib (checked
/// with GLib 2.74), so it stays in keys and values, and a line of one is not blank.
#[test]
fn a_vertical_tab_is_no_whitespace() {
    let doc = Document::parse("[g]\nk\x0b=\x0bv\x0b\n\x0cf\x0c=\x0cw\n").unwrap();
    assert_eq!(doc.get_raw("g", "k\x0b"), Some(("\x0bv\x0b", 2)));
    assert_eq!(doc.get_raw("g", "f"), Some(("w", 3)), "a form feed is");
    assert_eq!(Document::parse("[g]\n\x0b\n").unwrap_err().kind, ParseErrorKind::NotKeyValue);
    assert_eq!(Document::parse("\x0b[g]\n").unwrap_err().kind, ParseErrorKind::NotKeyValue);
}

fn arb_doc() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        "\\[[a-z0-9-]{1,12}\\][ \t]{0,2}",
        "[ \t]{0,2}[a-z][a-z0-9-]{0,10}[ \t]{0,2}=[ \t]{0,2}[ -~]{0,20}",
        "[ \t]{0,2}#[ -~]{0,20}",
        "[ \t]{0,3}",
    ];
    ("\\[[a-z]{1,8}\\]", prop::collection::vec(line, 0..20), prop_oneof![Just("\n"), Just("\r\n")], any::<bool>())
        .prop_map(|(first, lines, nl, final_nl)| {
            let mut s = first + nl;
            s.push_str(&lines.join(nl));
            if final_nl && !lines.is_empty() {
                s.push_str(nl);
            }
            s
        })
}

/// Documents over a few group and key names, so that repeated groups and duplicate keys are
/// common.
fn arb_clashing_doc() -> impl Strategy<Value = String> {
    let line = prop_oneof!["\\[[abc]\\]", "[kmn]=[a-z]{0,3}", "#[a-z]{0,5}", ""];
    prop::collection::vec(line, 0..30).prop_map(|lines| format!("[a]\n{}\n", lines.join("\n")))
}

proptest! {
    /// Parse then write is the identity on every accepted document.
    #[test]
    fn parse_write_identity(text in arb_doc()) {
        if let Ok(doc) = Document::parse(&text) {
            prop_assert_eq!(doc.to_string(), text);
        }
    }

    /// Setting a value changes only the lines of that key (or adds lines at the group's end or
    /// the file's end), and the value reads back.
    #[test]
    fn set_touches_only_its_key(text in arb_doc(), key in "[a-z]{1,6}", value in "[ -~\t]{0,20}") {
        let Ok(doc) = Document::parse(&text) else { return Ok(()) };
        let group = doc.groups()[0].to_string();
        let mut edited = doc.clone();
        edited.set_string(&group, &key, &value);
        prop_assert_eq!(edited.get_string(&group, &key).unwrap(), Some(value.clone()));
        let reparsed = Document::parse(&edited.to_string()).unwrap();
        prop_assert_eq!(reparsed.get_string(&group, &key).unwrap(), Some(value.clone()));
        for g in doc.groups() {
            for k in doc.keys(g) {
                if g != group || k != key {
                    prop_assert_eq!(doc.get_raw(g, k).map(|(r, _)| r), reparsed.get_raw(g, k).map(|(r, _)| r));
                }
            }
        }
        let before: Vec<&str> = text.lines().collect();
        let after = edited.to_string();
        let after: Vec<&str> = after.lines().collect();
        let changed = before.iter().filter(|l| !after.contains(l)).count();
        prop_assert!(changed <= 1, "{} lines changed", changed);
    }

    /// A big file (past 256 lines) finds earlier groups and keys through maps instead of scans:
    /// the same document padded with comments reads the same.
    #[test]
    fn big_files_read_like_small_ones(text in prop_oneof![arb_doc(), arb_clashing_doc()]) {
        let Ok(small) = Document::parse(&text) else { return Ok(()) };
        let padded = format!("{text}\n{}", "# padding\n".repeat(300));
        let big = Document::parse(&padded).unwrap();
        prop_assert_eq!(small.notices(), big.notices());
        prop_assert_eq!(small.groups(), big.groups());
        prop_assert_eq!(small.entries().collect::<Vec<_>>(), big.entries().collect::<Vec<_>>());
        // An entry's place, from the entry itself, is where a lookup finds it.
        for e in big.entries() {
            prop_assert_eq!(Some(big.locate_entry(&e)), big.locate(e.group, e.key));
        }
    }

    /// Lookups go through an index of the groups; they agree with a scan of every entry, for
    /// repeated groups and after edits that add or remove lines.
    #[test]
    fn lookups_agree_with_a_scan(text in arb_doc(), group in "[a-z]{1,3}", key in "[a-z]{1,3}") {
        let Ok(parsed) = Document::parse(&text) else { return Ok(()) };
        let mut added = parsed.clone();
        added.set_string(&group, &key, "v");
        let mut removed = added.clone();
        let first = removed.groups()[0].to_string();
        removed.remove_group(&first);
        let mut unset = parsed.clone();
        if let Some(e) = parsed.entries().next() {
            unset.remove(e.group, e.key);
        }
        prop_assert_eq!(added.get_string(&group, &key).unwrap(), Some("v".to_string()));
        for doc in [parsed, added, removed, unset] {
            // A fresh parse of the same text indexes from scratch: the edited index must agree.
            let text = doc.to_string();
            if text.is_empty() {
                // The only group removed: nothing left to look up (and nothing to parse).
                prop_assert!(doc.groups().is_empty() && doc.entries().next().is_none());
                continue;
            }
            let fresh = Document::parse(&text).unwrap();
            prop_assert_eq!(doc.groups(), fresh.groups());
            let all: Vec<EntryRef<'_>> = fresh.entries().collect();
            prop_assert_eq!(doc.entries().collect::<Vec<_>>(), all.clone());
            for g in fresh.groups() {
                let scanned: Vec<EntryRef<'_>> = all.iter().filter(|e| e.group == g).copied().collect();
                prop_assert_eq!(doc.entries_of(g).collect::<Vec<_>>(), scanned.clone());
                for e in &scanned {
                    prop_assert_eq!(doc.get_raw(g, e.key), Some((e.value, e.line)));
                }
            }
            prop_assert_eq!(doc.entries_of("no-such-group").count(), 0);
        }
    }
}
