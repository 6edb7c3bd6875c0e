//! Fuzzes node-IP selection on arbitrary snapshots and policies given as JSON (what
//! `bmnet node-ip --snapshot` reads): no input may panic, a VIP is never chosen, at most one
//! address per family is chosen and each is on the host, and every address gets a verdict.

use bm_nodeip::{HostSnapshot, Policy, select};

/// One input.
pub fn run(data: &[u8]) {
    // `snapshot JSON` NUL `policy JSON`; the policy is optional.
    let mut parts = data.splitn(2, |&b| b == 0);
    let Ok(host) = serde_json::from_slice::<HostSnapshot>(parts.next().unwrap_or_default()) else { return };
    let policy = parts.next().and_then(|p| serde_json::from_slice::<Policy>(p).ok()).unwrap_or_default();
    let sel = select(&host, &policy);
    assert!(sel.chosen.len() <= 2);
    assert_eq!(sel.candidates.len(), host.addresses.len());
    if let [a, b] = &sel.chosen[..] {
        assert_ne!(a.family, b.family);
    }
    for c in &sel.chosen {
        assert!(host.has_address(c.addr.addr()));
        assert!(!policy.vips.iter().any(|v| bm_addr::unmap(*v) == bm_addr::unmap(c.addr.addr())));
    }
}
