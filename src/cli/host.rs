//! This host's interfaces and addresses for `bmnet inspect`, from the node-IP snapshot.

use std::io;
use std::net::IpAddr;

use bm_nodeip::{self as nodeip, HostSnapshot};
use serde::Serialize;

/// One network interface and its addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Interface {
    pub(crate) name: String,
    pub(crate) index: u32,
    pub(crate) kind: Option<String>,
    pub(crate) up: bool,
    pub(crate) running: bool,
    pub(crate) loopback: bool,
    pub(crate) mac: Option<String>,
    pub(crate) addresses: Vec<HostAddr>,
}

/// One configured address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct HostAddr {
    pub(crate) addr: IpAddr,
    pub(crate) prefix_len: u8,
    /// Address flags that are set (`permanent`, `deprecated`, `tentative`, ...).
    pub(crate) flags: Vec<&'static str>,
}

/// Reads this host's network namespace over netlink.
pub(crate) fn collect() -> io::Result<HostSnapshot> {
    nodeip::netlink::snapshot().map_err(|e| io::Error::other(e.to_string()))
}

/// The interfaces of a snapshot, in index order, each with its addresses in kernel order.
pub(crate) fn interfaces(snapshot: &HostSnapshot) -> Vec<Interface> {
    let mut out: Vec<Interface> = snapshot
        .links
        .iter()
        .map(|l| Interface {
            name: l.name.clone(),
            index: l.index,
            kind: l.kind.clone(),
            up: l.up,
            running: l.lower_up,
            loopback: l.loopback,
            mac: l.mac.clone().filter(|m| m.split(':').any(|b| b != "00")),
            addresses: snapshot
                .addresses
                .iter()
                .filter(|a| a.link == l.index)
                .map(|a| HostAddr { addr: a.ip(), prefix_len: a.addr.prefix_len(), flags: a.flag_names() })
                .collect(),
        })
        .collect();
    out.sort_by_key(|i| i.index);
    out
}
