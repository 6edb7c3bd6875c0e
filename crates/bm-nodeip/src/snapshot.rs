//! `HostSnapshot`: everything node-IP selection needs to know about a host's network, as plain
//! serde data. A backend (netlink) fills it; tests and bug reports use JSON fixtures.

use std::net::IpAddr;

use bm_addr::Family;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// The links, addresses and routes of one network namespace at one moment.
///
/// Order carries no meaning: selection sorts everything it looks at, so the result never
/// depends on the order the kernel (or a fixture) listed things in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSnapshot {
    /// Network interfaces.
    #[serde(default)]
    pub links: Vec<Link>,
    /// Configured addresses.
    #[serde(default)]
    pub addresses: Vec<Address>,
    /// Routes of every table, both families.
    #[serde(default)]
    pub routes: Vec<Route>,
}

/// A network interface.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Interface index (`ifindex`).
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// `IFLA_INFO_KIND` (`veth`, `bridge`, `bond`, `vlan`, `macvlan`, ...); `None` for
    /// physical devices and loopback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// Carrier present (`IFF_LOWER_UP`).
    #[serde(default)]
    pub lower_up: bool,
    /// `IFF_LOOPBACK`.
    #[serde(default)]
    pub loopback: bool,
    /// Index of the controller (bond, bridge) this link is a port of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<u32>,
    /// MTU.
    #[serde(default)]
    pub mtu: u32,
    /// Hardware address, `aa:bb:cc:dd:ee:ff`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// The permanent hardware address (`IFLA_PERM_ADDRESS`), when the device has one and it
    /// differs from `mac` or is reported: a bond's ports carry the bond's MAC while enslaved,
    /// and NetworkManager matches a profile's `mac-address` against this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perm_mac: Option<String>,
    /// Index of the link this one is stacked on (`IFLA_LINK`): a VLAN's parent, a veth's peer.
    /// `None` when there is none, or when it is in another network namespace
    /// (`IFLA_LINK_NETNSID`), where the index names nothing of this snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<u32>,
    /// A bond's mode by the kernel's number (`IFLA_BOND_MODE`: 0 `balance-rr`, 1
    /// `active-backup`, 2 `balance-xor`, 3 `broadcast`, 4 `802.3ad`, 5 `balance-tlb`, 6
    /// `balance-alb`); `None` for other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bond_mode: Option<u8>,
    /// A VLAN's id (`IFLA_VLAN_ID`); `None` for other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan_id: Option<u16>,
}

/// Address flags (`IFA_F_*`, linux/if_addr.h).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct AddressFlags {
    /// `IFA_F_PERMANENT`: configured statically, not by SLAAC or DHCP.
    pub permanent: bool,
    /// `IFA_F_DEPRECATED`: preferred lifetime reached 0; new connections should not use it.
    pub deprecated: bool,
    /// `IFA_F_TENTATIVE`: duplicate address detection still running; cannot be bound yet.
    pub tentative: bool,
    /// `IFA_F_OPTIMISTIC`: usable during DAD (RFC 4429).
    pub optimistic: bool,
    /// `IFA_F_DADFAILED`: another host on the link has this address.
    pub dadfailed: bool,
    /// `IFA_F_TEMPORARY` (IPv6 privacy address; the same bit is `IFA_F_SECONDARY` for IPv4).
    pub temporary: bool,
    /// `IFA_F_SECONDARY` for IPv4: not the primary address of its subnet on the link.
    pub secondary: bool,
    /// `IFA_F_NODAD`.
    pub nodad: bool,
}

/// An address configured on a link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Index of the link the address is on.
    pub link: u32,
    /// The address and its prefix length (`10.0.0.5/24`): host bits are the address.
    pub addr: IpNet,
    /// Routing scope.
    #[serde(default)]
    pub scope: AddressScope,
    /// Flags.
    #[serde(default)]
    pub flags: AddressFlags,
    /// IPv4 label (`eth0:1`; OVN-Kubernetes labels egress IPs with `eip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Preferred lifetime in seconds; `None` is forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_lft: Option<u32>,
    /// Valid lifetime in seconds; `None` is forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_lft: Option<u32>,
}

impl Address {
    /// The address without its prefix.
    pub fn ip(&self) -> IpAddr {
        self.addr.addr()
    }

    /// Deprecated by flag or by a preferred lifetime of 0 (what the kernel sets the flag for).
    pub fn is_deprecated(&self) -> bool {
        self.flags.deprecated || self.preferred_lft == Some(0)
    }
}

/// `rtm_scope` of an address or route.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressScope {
    /// `RT_SCOPE_UNIVERSE` (0).
    #[default]
    Universe,
    /// `RT_SCOPE_SITE` (200).
    Site,
    /// `RT_SCOPE_LINK` (253).
    Link,
    /// `RT_SCOPE_HOST` (254).
    Host,
    /// `RT_SCOPE_NOWHERE` (255).
    Nowhere,
    /// Any other value.
    Other(u8),
}

impl AddressScope {
    /// From the kernel's numeric value.
    pub const fn from_raw(v: u8) -> AddressScope {
        match v {
            0 => AddressScope::Universe,
            200 => AddressScope::Site,
            253 => AddressScope::Link,
            254 => AddressScope::Host,
            255 => AddressScope::Nowhere,
            other => AddressScope::Other(other),
        }
    }
}

/// `rtm_protocol`: who installed a route.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteProtocol {
    /// `RTPROT_KERNEL` (2): the kernel, for a configured prefix.
    Kernel,
    /// `RTPROT_BOOT` (3): `ip route add` without `proto`.
    #[default]
    Boot,
    /// `RTPROT_STATIC` (4).
    Static,
    /// `RTPROT_RA` (9): an IPv6 router advertisement.
    Ra,
    /// `RTPROT_DHCP` (16).
    Dhcp,
    /// Any other value.
    Other(u8),
}

impl RouteProtocol {
    /// From the kernel's numeric value.
    pub const fn from_raw(v: u8) -> RouteProtocol {
        match v {
            2 => RouteProtocol::Kernel,
            3 => RouteProtocol::Boot,
            4 => RouteProtocol::Static,
            9 => RouteProtocol::Ra,
            16 => RouteProtocol::Dhcp,
            other => RouteProtocol::Other(other),
        }
    }
}

/// `rtm_type`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteType {
    /// `RTN_UNICAST`: a normal route.
    #[default]
    Unicast,
    /// `RTN_LOCAL`: an address of this host (table local).
    Local,
    /// `RTN_BROADCAST`.
    Broadcast,
    /// `RTN_MULTICAST`.
    Multicast,
    /// `RTN_BLACKHOLE`, `RTN_UNREACHABLE`, `RTN_PROHIBIT`: no way through.
    Reject,
    /// Any other value.
    Other(u8),
}

/// One next hop of a multipath (ECMP) route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextHop {
    /// Gateway, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    /// Output link index.
    pub link: u32,
    /// Weight (`rtnh_hops` + 1).
    #[serde(default = "one")]
    pub weight: u16,
}

fn one() -> u16 {
    1
}

/// A route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// Routing table (254 main, 255 local).
    #[serde(default = "main_table")]
    pub table: u32,
    /// Address family.
    pub family: Family,
    /// Destination prefix; `0.0.0.0/0` or `::/0` for a default route.
    pub destination: IpNet,
    /// Gateway of a single-path route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    /// Output link of a single-path route; multipath routes have none (0 in netlink).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<u32>,
    /// Metric (`RTA_PRIORITY`); the kernel default is 0 for IPv4 and 1024 for IPv6.
    #[serde(default)]
    pub metric: u32,
    /// Who installed it.
    #[serde(default)]
    pub protocol: RouteProtocol,
    /// Route type.
    #[serde(default)]
    pub kind: RouteType,
    /// Preferred source address (`RTA_PREFSRC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefsrc: Option<IpAddr>,
    /// Next hops of a multipath route (`RTA_MULTIPATH`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nexthops: Vec<NextHop>,
}

fn main_table() -> u32 {
    MAIN_TABLE
}

/// `RT_TABLE_MAIN`.
pub const MAIN_TABLE: u32 = 254;
/// `RT_TABLE_LOCAL`.
pub const LOCAL_TABLE: u32 = 255;

impl Route {
    /// A default route (`0.0.0.0/0`, `::/0`).
    pub fn is_default(&self) -> bool {
        self.destination.prefix_len() == 0
    }

    /// The links this route leaves through: its own, or every next hop's.
    pub fn links(&self) -> impl Iterator<Item = u32> + '_ {
        self.link.into_iter().chain(self.nexthops.iter().map(|n| n.link))
    }

    /// Whether the route leaves through `link` (directly or as one of its next hops).
    pub fn uses_link(&self, link: u32) -> bool {
        self.links().any(|l| l == link)
    }

    /// The gateway used when leaving through `link`: the first one, in next-hop order, when
    /// several next hops of a multipath route share the link (see [`Route::gateways_via`]).
    pub fn gateway_via(&self, link: u32) -> Option<IpAddr> {
        self.gateways_via(link).next()
    }

    /// Every gateway used when leaving through `link`: the route's own, then each next hop's.
    pub fn gateways_via(&self, link: u32) -> impl Iterator<Item = IpAddr> + '_ {
        let own = (self.link == Some(link)).then_some(self.gateway).flatten();
        own.into_iter().chain(self.nexthops.iter().filter(move |n| n.link == link).filter_map(|n| n.gateway))
    }
}

impl HostSnapshot {
    /// The link with this index.
    pub fn link(&self, index: u32) -> Option<&Link> {
        self.links.iter().find(|l| l.index == index)
    }

    /// The link with this name.
    pub fn link_by_name(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    /// Whether `ip` is configured on any link.
    pub fn has_address(&self, ip: IpAddr) -> bool {
        self.addresses.iter().any(|a| a.ip() == ip)
    }
}
