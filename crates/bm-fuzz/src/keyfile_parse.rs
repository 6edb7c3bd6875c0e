//! Fuzzes the keyfile parser and NetworkManager's value readers: no input may panic; whatever
//! parses writes back byte for byte, and a value set on it reads back after a reparse.

use bm_nmconn::Document;

/// One input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(mut doc) = Document::parse(text) else { return };
    assert_eq!(doc.to_string(), text);
    for g in doc.groups().iter().map(|g| g.to_string()).collect::<Vec<_>>() {
        for k in doc.keys(&g).iter().map(|k| k.to_string()).collect::<Vec<_>>() {
            if let Ok(Some(v)) = doc.get_string(&g, &k) {
                // NetworkManager's value readers on every value.
                let _ = bm_nmconn::value::parse_uint(&v, 0, u64::MAX);
                let _ = bm_nmconn::value::parse_bool(&v);
                let _ = bm_nmconn::value::parse_mac(&v, 6);
            }
            let _ = doc.get_list(&g, &k);
            let _ = bm_nmconn::value::list_key_index(&k, "address");
        }
    }
    for fam in ["ipv4", "ipv6"] {
        let read = bm_nmconn::ip::read_addresses(&doc, fam);
        for (addr, plen) in read.addresses {
            assert!(u32::from(plen) <= if addr.is_ipv4() { 32 } else { 128 });
        }
    }
    let Some(group) = doc.groups().first().map(|g| g.to_string()) else { return };
    doc.set_string(&group, "fuzzed", " a;b\\c\n");
    let again = Document::parse(&doc.to_string()).expect("an edited document parses");
    assert_eq!(again.get_string(&group, "fuzzed").unwrap().as_deref(), Some(" a;b\\c\n"));
}
