//! Who may advertise to an instance, checked before the packet is decoded: unicast peers and
//! their TTL ranges, and unicast against multicast, as keepalived 2.2.7's `vrrp_check_packet`
//! does (`keepalived/vrrp/vrrp.c`: "Expected unicast packet but received multicast packet",
//! "unicast source address %s not a unicast peer", "TTL/HL %d not in range %d - %d").
//!
//! keepalived only checks the source with `check_unicast_src`; without it one advert from any
//! host that reaches the node takes the VIP (issue 14: a forged priority-255 advert with TTL 64
//! moved the VIP within 0.5 s). bmnet checks by default and can be told not to, for a peer
//! that sends from an address the list does not name.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::packet::DropReason;

/// A unicast peer (keepalived's `unicast_peer { ADDR [min_ttl N] [max_ttl N] }`). In JSON it
/// is an address (`"10.0.0.2"`, written so when it has no TTL range) or
/// `{"addr": "10.0.0.2", "min_ttl": 250, "max_ttl": 255}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(from = "PeerRepr")]
pub struct UnicastPeer {
    /// Its address: where adverts go, and the only source accepted from it.
    pub addr: IpAddr,
    /// The lowest TTL / hop limit accepted from it (default 0).
    pub min_ttl: u8,
    /// The highest TTL / hop limit accepted from it (default 255).
    pub max_ttl: u8,
}

fn max_ttl() -> u8 {
    u8::MAX
}

impl Serialize for UnicastPeer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        if !self.has_ttl_range() {
            return self.addr.serialize(s);
        }
        let mut st = s.serialize_struct("UnicastPeer", 3)?;
        st.serialize_field("addr", &self.addr)?;
        st.serialize_field("min_ttl", &self.min_ttl)?;
        st.serialize_field("max_ttl", &self.max_ttl)?;
        st.end()
    }
}

/// The two JSON forms of a peer.
#[derive(Deserialize)]
#[serde(untagged)]
enum PeerRepr {
    Addr(IpAddr),
    Full(FullPeer),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullPeer {
    addr: IpAddr,
    #[serde(default)]
    min_ttl: u8,
    #[serde(default = "max_ttl")]
    max_ttl: u8,
}

impl From<PeerRepr> for UnicastPeer {
    fn from(r: PeerRepr) -> UnicastPeer {
        match r {
            PeerRepr::Addr(addr) => UnicastPeer::from(addr),
            PeerRepr::Full(FullPeer { addr, min_ttl, max_ttl }) => UnicastPeer { addr, min_ttl, max_ttl },
        }
    }
}

impl From<IpAddr> for UnicastPeer {
    /// A peer with any TTL.
    fn from(addr: IpAddr) -> UnicastPeer {
        UnicastPeer { addr, min_ttl: 0, max_ttl: u8::MAX }
    }
}

impl UnicastPeer {
    /// Whether its TTL range narrows anything (keepalived then turns `check_unicast_src` on).
    pub const fn has_ttl_range(&self) -> bool {
        self.min_ttl != 0 || self.max_ttl != u8::MAX
    }
}

/// Whether `addr` is a multicast address of its family.
pub(crate) fn is_multicast(addr: IpAddr) -> bool {
    addr.is_multicast()
}

/// The sender check: unicast against multicast first, then (in unicast mode, when
/// `check_source`) the source among `peers` and the TTL within its range. The multicast TTL of
/// 255 is a packet check ([`RxCheck::check_ttl`](crate::RxCheck)), as RFC 5798 §7.1 words it.
pub(crate) fn check_sender(
    peers: &[UnicastPeer],
    check_source: bool,
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
) -> Result<(), DropReason> {
    let multicast = is_multicast(dst);
    if peers.is_empty() {
        return if multicast { Ok(()) } else { Err(DropReason::UnicastInMulticastMode) };
    }
    if multicast {
        return Err(DropReason::MulticastInUnicastMode);
    }
    if !check_source {
        return Ok(());
    }
    let peer = peers.iter().find(|p| p.addr == src).ok_or(DropReason::NotAPeer(src))?;
    if !(peer.min_ttl..=peer.max_ttl).contains(&ttl) {
        return Err(DropReason::PeerTtl { ttl, min: peer.min_ttl, max: peer.max_ttl });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// The attacker of issue 14 and its variations, against a unicast pair 10.0.0.1/10.0.0.2.
    #[test]
    fn forged_senders_are_dropped() {
        let peers = [UnicastPeer { addr: ip("10.0.0.2"), min_ttl: 255, max_ttl: 255 }];
        let me = ip("10.0.0.1");
        assert_eq!(check_sender(&peers, true, ip("10.0.0.2"), me, 255), Ok(()));
        assert_eq!(check_sender(&peers, true, ip("10.0.0.9"), me, 64), Err(DropReason::NotAPeer(ip("10.0.0.9"))));
        assert_eq!(check_sender(&peers, true, ip("10.0.0.9"), me, 255), Err(DropReason::NotAPeer(ip("10.0.0.9"))));
        // A peer's address from a host further away (or spoofed off the link).
        assert_eq!(
            check_sender(&peers, true, ip("10.0.0.2"), me, 64),
            Err(DropReason::PeerTtl { ttl: 64, min: 255, max: 255 })
        );
        // To the group instead of to us.
        let group = ip("224.0.0.18");
        assert_eq!(check_sender(&peers, true, ip("10.0.0.2"), group, 255), Err(DropReason::MulticastInUnicastMode));
        // keepalived's behaviour without check_unicast_src: anyone, any TTL.
        assert_eq!(check_sender(&peers, false, ip("10.0.0.9"), me, 64), Ok(()));
        // Multicast mode: unicast-addressed adverts are dropped, the group is fine.
        assert_eq!(check_sender(&[], true, ip("10.0.0.2"), me, 255), Err(DropReason::UnicastInMulticastMode));
        assert_eq!(check_sender(&[], true, ip("10.0.0.2"), group, 255), Ok(()));
        assert_eq!(check_sender(&[], true, ip("fe80::2"), ip("ff02::12"), 255), Ok(()));
        assert_eq!(check_sender(&[], true, ip("fe80::2"), ip("fe80::1"), 255), Err(DropReason::UnicastInMulticastMode));
    }

    #[test]
    fn json_forms() {
        let p: Vec<UnicastPeer> =
            serde_json::from_str(r#"["10.0.0.2", {"addr": "10.0.0.3", "min_ttl": 250}]"#).unwrap();
        assert_eq!(p[0], UnicastPeer::from(ip("10.0.0.2")));
        assert!(!p[0].has_ttl_range());
        assert_eq!((p[1].min_ttl, p[1].max_ttl), (250, 255));
        assert!(p[1].has_ttl_range());
        assert!(serde_json::from_str::<UnicastPeer>(r#"{"addr": "10.0.0.3", "bogus": 1}"#).is_err());
        // Written as read: an address alone when there is no range.
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"["10.0.0.2",{"addr":"10.0.0.3","min_ttl":250,"max_ttl":255}]"#
        );
    }
}
