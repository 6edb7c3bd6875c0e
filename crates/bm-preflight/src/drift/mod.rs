//! Keyfile drift: where a NetworkManager keyfile says something else than what the kernel runs.
//!
//! NetworkManager applies an edited keyfile only when the profile is activated again
//! (`nmcli connection up`, or a reboot); `nmcli connection reload` re-reads the files without
//! touching a running device. Until then the file says one thing and the kernel runs another,
//! and the node drops off the network at its next reboot. [`check`] finds those differences
//! before the reboot does.
//!
//! # The inputs
//!
//! - The profiles NetworkManager loads ([`KeyfileProfile`]: bm-nmconn's [`Profile`], the one model
//!   of what NetworkManager 1.42 reads from a keyfile). [`load_profiles`] builds them from files
//!   as NetworkManager's keyfile plugin does (names it ignores, permissions it refuses, profiles
//!   it refuses, the file that wins when several share a UUID); [`load_dirs`] and
//!   [`check_dirs`] read the directories first (the only I/O of this module).
//! - The live host: bm-nodeip's [`HostSnapshot`] (its netlink reader fills it; the caller
//!   takes it).
//! - Optionally the text of `/etc/resolv.conf`, for DNS, which the kernel does not hold.
//!
//! # Which profiles, on which links
//!
//! Only profiles NetworkManager activates by itself are compared: `autoconnect=true`. Each is
//! matched to a link by `connection.interface-name` and, when the profile has one,
//! `[ethernet] mac-address` (both must match, as NetworkManager requires). A profile with
//! neither is not compared: NetworkManager may activate it on any device of its type. When
//! several profiles match one link, the one of the highest `autoconnect-priority` is the one
//! compared; profiles tied at the top are all compared, each naming the others as contenders
//! (NetworkManager breaks the tie by the last time each was used, which no file holds). Every
//! profile that is not compared is in [`DriftReport::unmatched`] with the reason.
//!
//! # What is compared, and what is not
//!
//! | field | file | kernel | not compared |
//! |---|---|---|---|
//! | [`Field::Kind`] | `connection.type` `bond`, `vlan`, `bridge`, `ethernet` | the link's kind (`veth` takes ethernet profiles) | other types |
//! | [`Field::Mtu`] | `[ethernet] mtu` (`[infiniband] mtu`) | the link's MTU | `mtu=0` (NetworkManager leaves the MTU alone) |
//! | [`Field::Address`], [`Field::Prefix`] | `ipvX.addresses` | addresses on the link of an infinite lifetime | link-local addresses the file does not write (the kernel makes IPv6 ones), addresses of a finite lifetime (DHCP leases, SLAAC: the network gives them, not the file), everything of `method=ignore` or `shared`, and of ports |
//! | [`Field::Gateway`] | `ipvX.gateway` (unless `never-default`; the metric when `route-metric` sets it) | default routes out of the link in the profile's table (`route-table`, main when 0) installed by `ip` or a static configuration (protocols `boot`, `static`) | default routes from DHCP or router advertisements (`method=auto` takes its gateway from them) |
//! | [`Field::Route`] | `ipvX.routes` (destination, next hop, table; the metric when the file gives one, the route's own or `route-metric`) | other routes out of the link, same tables and protocols | kernel prefix routes, routes of routing daemons and of other tables |
//! | [`Field::Dns`], [`Field::DnsSearch`] | `ipvX.dns`, `ipvX.dns-search` | the `resolv.conf` text given | see below |
//! | [`Field::BondMode`] | `[bond] mode` | the bond's mode | other bond options |
//! | [`Field::Ports`] | the compared profiles naming a bond as `master` | the links whose controller the bond is | a bridge's ports (container runtimes add their own) |
//! | [`Field::VlanId`], [`Field::VlanParent`] | `[vlan] id`, `parent` (a name, or the UUID of a profile) | the VLAN's id and the link it sits on | |
//!
//! A profile with `method=auto` (DHCP, SLAAC) thus has its static extras compared — addresses,
//! gateway and routes written in the file — and nothing that the network hands out; a
//! `method=manual` profile has everything compared; `disabled` and `link-local` mean no static
//! address, so any the kernel has is a difference. Ports (profiles with `master`) carry no IP
//! settings: NetworkManager removes them. Each [`Matched`] lists what was left out for it, in
//! [`Matched::not_compared`].
//!
//! Why kernel routes of protocols `boot` and `static` only: NetworkManager installs its
//! static routes as `static`, `ip route add` makes `boot`, and on activation NetworkManager
//! removes routes of the main table on the device that it did not configure; prefix routes
//! (`kernel`), DHCP and router-advertisement routes, and routing daemons' routes (BGP, OSPF)
//! are not its configuration, and a difference there would say nothing about the file.
//!
//! # DNS
//!
//! The kernel holds no DNS setting. When NetworkManager writes `/etc/resolv.conf` (its default),
//! the file lists the servers and search domains of the active profiles, so each server and
//! domain a compared profile writes must be in it: one missing is a difference. Entries of
//! `resolv.conf` that no profile names are not reported (DHCP, other profiles and
//! NetworkManager's global configuration add them too). When `resolv.conf` points at a resolver
//! on the host itself (systemd-resolved's `127.0.0.53`, a local dnsmasq), the servers
//! NetworkManager configured are that resolver's upstreams and the file cannot show them: DNS
//! is then [`DnsCheck::NotComparable`], as it is when no `resolv.conf` is given.
//!
//! The text to pass is NetworkManager's own rendering, `/run/NetworkManager/resolv.conf`: it
//! is written from the active profiles whoever manages `/etc/resolv.conf` (on a bmnet node the
//! dispatcher script `30-bmnet-resolv-conf` rewrites `/etc/resolv.conf` with the node's resolver
//! first, from that very file).
//!
//! # Limits
//!
//! - Which profile is active on a device is NetworkManager's run-time state, which no file
//!   holds: the check compares what NetworkManager would activate at boot, so a profile brought
//!   up by hand (`autoconnect=false`) is listed as not compared.
//! - A bond's ports carry the bond's MAC while they are ports: a profile bound by
//!   `mac-address` is matched, as NetworkManager matches it, against the permanent address
//!   (`IFLA_PERM_ADDRESS`) when the kernel reports one, and only to links of its kind (an
//!   ethernet profile to a port, not to the bond with the same current MAC).
//! - `[match]` patterns and the types beyond ethernet, bond, VLAN and bridge are not evaluated.
//!
//! # Example
//!
//! ```
//! use bm_nmconn::{Document, Profile};
//! use bm_nodeip::{Address, HostSnapshot, Link};
//! use bm_preflight::drift::{Activation, Field, KeyfileProfile, check};
//!
//! let text = "[connection]\nid=uplink\ntype=ethernet\ninterface-name=eth0\n\
//!             [ethernet]\nmtu=9000\n[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\n[ipv6]\nmethod=disabled\n";
//! let profile = Profile::read(&Document::parse(text).unwrap());
//! let profiles = [KeyfileProfile { file: "uplink.nmconnection".into(), profile }];
//! let host = HostSnapshot {
//!     links: vec![Link { index: 2, name: "eth0".into(), up: true, mtu: 1500, ..Link::default() }],
//!     addresses: vec![Address {
//!         link: 2,
//!         addr: "10.0.0.5/24".parse().unwrap(),
//!         scope: Default::default(),
//!         flags: Default::default(),
//!         label: None,
//!         preferred_lft: None,
//!         valid_lft: None,
//!     }],
//!     routes: vec![],
//! };
//! let report = check(&profiles, &host, None);
//! assert_eq!(report.matched[0].link, "eth0");
//! let d = &report.differences[0];
//! assert_eq!((d.field, d.file.as_deref(), d.kernel.as_deref()), (Field::Mtu, Some("9000"), Some("1500")));
//! assert_eq!(d.activation, Activation::Set);
//! assert_eq!(report.differences.len(), 1, "the address is as the file says");
//! ```

mod load;
mod resolv;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use bm_addr::Family;
use bm_nmconn::Profile;
use bm_nmconn::profile::IpConfig;
use bm_nodeip::{HostSnapshot, Link, MAIN_TABLE, Route, RouteProtocol, RouteType};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

pub use load::{
    KeyfileDir, KeyfileFile, LoadError, Loaded, NotLoaded, NotLoadedReason, check_dirs, load_dirs, load_profiles,
};
pub use resolv::ResolvConf;

/// A profile NetworkManager loads, and the file it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyfileProfile {
    /// The file's path (for the report).
    pub file: String,
    /// What NetworkManager loads from it.
    pub profile: Profile,
}

/// Which profile a line of the report is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProfileRef {
    /// `connection.id`.
    pub id: Option<String>,
    /// `connection.uuid`.
    pub uuid: Option<String>,
    /// The file.
    pub file: String,
}

impl ProfileRef {
    fn of(p: &KeyfileProfile) -> ProfileRef {
        ProfileRef {
            id: p.profile.connection.id.clone(),
            uuid: p.profile.connection.uuid.clone(),
            file: p.file.clone(),
        }
    }
}

impl fmt::Display for ProfileRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{id} ({})", self.file),
            None => f.write_str(&self.file),
        }
    }
}

/// What differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Field {
    /// The kind of link (`bond`, `vlan`, `bridge`, ethernet).
    Kind,
    /// The MTU.
    Mtu,
    /// A static address.
    Address,
    /// The prefix length of an address both have.
    Prefix,
    /// The default route's gateway.
    Gateway,
    /// A route other than the default.
    Route,
    /// A DNS server.
    Dns,
    /// A DNS search domain.
    DnsSearch,
    /// A bond's mode.
    BondMode,
    /// A bond's ports.
    Ports,
    /// A VLAN's id.
    VlanId,
    /// A VLAN's parent link.
    VlanParent,
}

/// What activating the profile does about a difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// Replaces the kernel's value with the file's.
    Set,
    /// Adds what the file has and the kernel lacks.
    Add,
    /// Removes what the kernel has and the file lacks.
    Remove,
    /// Deletes the link and creates it anew as the file says (what a link cannot change in
    /// place: its kind, a VLAN's id or parent).
    Recreate,
}

/// One difference between a profile and the kernel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// The profile.
    pub profile: ProfileRef,
    /// The link it was matched to.
    pub link: String,
    /// What differs.
    pub field: Field,
    /// The address family, for IP fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
    /// What the file says (`None`: nothing).
    pub file: Option<String>,
    /// What the kernel has (`None`: nothing).
    pub kernel: Option<String>,
    /// What activation does about it.
    pub activation: Activation,
    /// The same, in a sentence: what `nmcli connection up` or a reboot would change.
    pub consequence: String,
}

/// How a profile was matched to its link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchedBy {
    /// `connection.interface-name`.
    InterfaceName,
    /// `[ethernet] mac-address`.
    MacAddress,
    /// Both.
    InterfaceNameAndMac,
}

/// A profile compared with a link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matched {
    /// The profile.
    pub profile: ProfileRef,
    /// The link's name.
    pub link: String,
    /// How it was matched.
    pub by: MatchedBy,
    /// Other profiles of the same `autoconnect-priority` for the same link: NetworkManager
    /// activates one of them (the last used), and each was compared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contenders: Vec<ProfileRef>,
    /// What was not compared for this profile, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_compared: Vec<NotCompared>,
}

/// A field left out of the comparison of one profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotCompared {
    /// The field.
    pub field: Field,
    /// The address family, for IP fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
    /// Why.
    pub reason: NotComparedReason,
}

/// Why a field was not compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "reason")]
#[non_exhaustive]
pub enum NotComparedReason {
    /// `method=auto`: addresses, gateway and routes the network hands out (DHCP, router
    /// advertisements) are not the file's; only what the file writes is compared.
    Dynamic,
    /// `method=ignore` or `shared`: NetworkManager does not configure addresses from the file
    /// (`shared` picks its own).
    Method {
        /// The method.
        method: String,
    },
    /// `mtu=0`: NetworkManager leaves the MTU as it is.
    MtuAutomatic,
    /// A port (`master` set): it carries no IP settings.
    Port,
    /// The link is of another kind than the profile: nothing else of it was compared.
    KindDiffers,
    /// A value NetworkManager would refuse (the validator reports it): `ipvX.gateway` that is
    /// no address.
    Unreadable {
        /// The value.
        value: String,
    },
}

/// A profile that was not compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmatched {
    /// The profile.
    pub profile: ProfileRef,
    /// Why.
    pub reason: UnmatchedReason,
}

/// Why a profile was not compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "reason")]
#[non_exhaustive]
pub enum UnmatchedReason {
    /// No link on this host has its interface name or MAC. For a bond, VLAN or bridge,
    /// activation would create it.
    NoLink {
        /// `connection.interface-name`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interface_name: Option<String>,
        /// `[ethernet] mac-address`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mac_address: Option<String>,
    },
    /// The link of that name has another MAC than `[ethernet] mac-address`: NetworkManager
    /// does not activate the profile on it.
    MacMismatch {
        /// The link.
        link: String,
        /// The file's MAC.
        file: String,
        /// The link's MAC, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kernel: Option<String>,
    },
    /// Neither `interface-name` nor `mac-address`: NetworkManager may activate it on any device
    /// of its type (`[match]` patterns are not evaluated).
    NoBinding,
    /// `autoconnect=false`: NetworkManager activates it only when asked.
    NotAutoconnect,
    /// Another profile for the same link has a higher `autoconnect-priority`.
    Outranked {
        /// That profile.
        by: ProfileRef,
    },
}

/// The DNS part of the check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum DnsCheck {
    /// Compared with this `resolv.conf`.
    Compared {
        /// What it lists.
        resolv_conf: ResolvConf,
    },
    /// Not compared.
    NotComparable {
        /// Why.
        reason: DnsNotComparable,
    },
}

/// Why DNS could not be compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "reason")]
pub enum DnsNotComparable {
    /// No `resolv.conf` was given; the kernel holds no DNS setting.
    NoResolvConf,
    /// `resolv.conf` names a resolver on this host: NetworkManager's servers are its upstreams,
    /// which the file does not show.
    LocalResolver {
        /// The local server.
        nameserver: IpAddr,
    },
}

/// The result of [`check`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftReport {
    /// The profiles compared, with their links.
    pub matched: Vec<Matched>,
    /// The profiles not compared, with the reason.
    pub unmatched: Vec<Unmatched>,
    /// Every difference, profile by profile in input order.
    pub differences: Vec<Difference>,
    /// Whether DNS was compared.
    pub dns: DnsCheck,
    /// Files NetworkManager does not load (filled by [`check_dirs`]; [`check`] leaves it empty).
    #[serde(default)]
    pub not_loaded: Vec<NotLoaded>,
}

impl DriftReport {
    /// Whether a file and the kernel differ anywhere compared.
    pub fn has_drift(&self) -> bool {
        !self.differences.is_empty()
    }

    /// The differences of one field.
    pub fn of_field(&self, field: Field) -> impl Iterator<Item = &Difference> {
        self.differences.iter().filter(move |d| d.field == field)
    }
}

/// Compares the profiles NetworkManager loads with the live host (see the module
/// documentation for what is compared). Pure: no I/O, never fails, never panics.
pub fn check(profiles: &[KeyfileProfile], host: &HostSnapshot, resolv_conf: Option<&str>) -> DriftReport {
    let (matches, unmatched) = assign(profiles, host);
    let resolv = resolv_conf.map(ResolvConf::parse);
    let dns = match &resolv {
        None => DnsCheck::NotComparable { reason: DnsNotComparable::NoResolvConf },
        Some(r) => match r.local_resolver() {
            Some(nameserver) => DnsCheck::NotComparable { reason: DnsNotComparable::LocalResolver { nameserver } },
            None => DnsCheck::Compared { resolv_conf: r.clone() },
        },
    };
    let resolv = match &dns {
        DnsCheck::Compared { resolv_conf } => Some(resolv_conf),
        DnsCheck::NotComparable { .. } => None,
    };
    let ctx = Context { profiles, host, matches: &matches };
    let mut matched = Vec::with_capacity(matches.len());
    let mut differences = Vec::new();
    for m in &matches {
        let p = &profiles[m.profile];
        let mut c =
            Comparison { p, pref: ProfileRef::of(p), link: m.link, diffs: &mut differences, skipped: Vec::new() };
        ctx.compare(&mut c, resolv);
        let contenders = m.contenders.iter().map(|&i| ProfileRef::of(&profiles[i])).collect();
        let not_compared = c.skipped;
        matched.push(Matched {
            profile: ProfileRef::of(p),
            link: m.link.name.clone(),
            by: m.by,
            contenders,
            not_compared,
        });
    }
    DriftReport { matched, unmatched, differences, dns, not_loaded: Vec::new() }
}

// --- Matching -----------------------------------------------------------------------------

/// A profile (by index) matched to a link.
struct Match<'h> {
    profile: usize,
    link: &'h Link,
    by: MatchedBy,
    contenders: Vec<usize>,
}

/// Whether `link` is the device of MAC `m` as NetworkManager matches `mac-address`: its
/// permanent address when the kernel reports one, else its current one.
fn has_mac(link: &Link, m: &str) -> bool {
    match &link.perm_mac {
        Some(p) => p.eq_ignore_ascii_case(m),
        None => link.mac.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(m)),
    }
}

/// Whether a link of kernel kind `have` can carry a profile of `connection.type` `kind`.
fn kind_fits(kind: &str, have: Option<&str>) -> bool {
    match kinds_of(kind) {
        Some(kinds) => have.is_some_and(|h| kinds.contains(&h)),
        None if kind == "802-3-ethernet" => matches!(have, None | Some("veth")),
        None => true,
    }
}

/// Matches the autoconnect profiles to links; the rest, with why, in input order.
fn assign<'h>(profiles: &[KeyfileProfile], host: &'h HostSnapshot) -> (Vec<Match<'h>>, Vec<Unmatched>) {
    let mut unmatched = Vec::new();
    // Candidates per link index: (profile, how).
    let mut per_link: BTreeMap<u32, Vec<(usize, MatchedBy)>> = BTreeMap::new();
    for (i, kp) in profiles.iter().enumerate() {
        let con = &kp.profile.connection;
        let mac = kp.profile.ethernet.as_ref().and_then(|e| e.mac_address).map(|m| bm_addr::MacAddr(m).to_string());
        let reason = if !con.autoconnect {
            Some(UnmatchedReason::NotAutoconnect)
        } else {
            match (&con.interface_name, &mac) {
                (None, None) => Some(UnmatchedReason::NoBinding),
                (Some(name), mac) => match host.link_by_name(name) {
                    None => {
                        Some(UnmatchedReason::NoLink { interface_name: Some(name.clone()), mac_address: mac.clone() })
                    }
                    Some(link) => match mac {
                        Some(m) if !has_mac(link, m) => Some(UnmatchedReason::MacMismatch {
                            link: link.name.clone(),
                            file: m.clone(),
                            kernel: link.perm_mac.clone().or_else(|| link.mac.clone()),
                        }),
                        Some(_) => {
                            per_link.entry(link.index).or_default().push((i, MatchedBy::InterfaceNameAndMac));
                            None
                        }
                        None => {
                            per_link.entry(link.index).or_default().push((i, MatchedBy::InterfaceName));
                            None
                        }
                    },
                },
                (None, Some(m)) => {
                    // The MAC names a device: a bond and its ports share one while enslaved, so
                    // the link of the profile's kind is the one, the permanent address first.
                    let kind = con.kind.as_deref().unwrap_or("");
                    let fits = |l: &&Link| kind_fits(kind, l.kind.as_deref());
                    let by_perm = host
                        .links
                        .iter()
                        .filter(fits)
                        .find(|l| l.perm_mac.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(m)));
                    let by_current = || host.links.iter().filter(fits).find(|l| has_mac(l, m));
                    match by_perm.or_else(by_current) {
                        None => Some(UnmatchedReason::NoLink { interface_name: None, mac_address: Some(m.clone()) }),
                        Some(link) => {
                            per_link.entry(link.index).or_default().push((i, MatchedBy::MacAddress));
                            None
                        }
                    }
                }
            }
        };
        if let Some(reason) = reason {
            unmatched.push((i, Unmatched { profile: ProfileRef::of(kp), reason }));
        }
    }
    let mut matches = Vec::new();
    for (index, candidates) in per_link {
        let Some(link) = host.link(index) else { continue };
        let top = candidates.iter().map(|&(i, _)| profiles[i].profile.connection.autoconnect_priority).max();
        let winners: Vec<usize> = candidates
            .iter()
            .filter(|&&(i, _)| Some(profiles[i].profile.connection.autoconnect_priority) == top)
            .map(|&(i, _)| i)
            .collect();
        for &(i, by) in &candidates {
            if winners.contains(&i) {
                let contenders = winners.iter().copied().filter(|&j| j != i).collect();
                matches.push(Match { profile: i, link, by, contenders });
            } else if let Some(&w) = winners.first() {
                let by = ProfileRef::of(&profiles[w]);
                unmatched.push((
                    i,
                    Unmatched { profile: ProfileRef::of(&profiles[i]), reason: UnmatchedReason::Outranked { by } },
                ));
            }
        }
    }
    matches.sort_by_key(|m| m.profile);
    unmatched.sort_by_key(|(i, _)| *i);
    (matches, unmatched.into_iter().map(|(_, u)| u).collect())
}

// --- Comparing ----------------------------------------------------------------------------

/// What every comparison may look at.
struct Context<'a, 'h> {
    profiles: &'a [KeyfileProfile],
    host: &'h HostSnapshot,
    matches: &'a [Match<'h>],
}

/// One profile's comparison under way.
struct Comparison<'a, 'd> {
    p: &'a KeyfileProfile,
    pref: ProfileRef,
    link: &'a Link,
    diffs: &'d mut Vec<Difference>,
    skipped: Vec<NotCompared>,
}

impl Comparison<'_, '_> {
    fn differ(
        &mut self,
        field: Field,
        family: Option<Family>,
        file: Option<String>,
        kernel: Option<String>,
        activation: Activation,
        consequence: String,
    ) {
        self.diffs.push(Difference {
            profile: self.pref.clone(),
            link: self.link.name.clone(),
            field,
            family,
            file,
            kernel,
            activation,
            consequence,
        });
    }

    fn skip(&mut self, field: Field, family: Option<Family>, reason: NotComparedReason) {
        self.skipped.push(NotCompared { field, family, reason });
    }
}

/// The kinds of link a profile type activates on (`None`: not checked).
fn kinds_of(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "bond" => Some(&["bond"]),
        "vlan" => Some(&["vlan"]),
        "bridge" => Some(&["bridge"]),
        _ => None,
    }
}

/// A profile's `master` names the controller by interface name or UUID.
fn names_controller(port: &Profile, controller: &Profile) -> bool {
    let Some(master) = port.connection.master.as_deref() else { return false };
    let c = &controller.connection;
    c.interface_name.as_deref() == Some(master) || c.uuid.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(master))
}

impl<'h> Context<'_, 'h> {
    fn link_name(&self, index: u32) -> String {
        self.host.link(index).map_or_else(|| format!("ifindex {index}"), |l| l.name.clone())
    }

    fn compare(&self, c: &mut Comparison<'_, '_>, resolv: Option<&ResolvConf>) {
        let profile = &c.p.profile;
        let kind = profile.connection.kind.as_deref().unwrap_or("");
        if !self.compare_kind(c, kind) {
            c.skip(Field::Kind, None, NotComparedReason::KindDiffers);
            return;
        }
        self.compare_mtu(c);
        match kind {
            "bond" => self.compare_bond(c),
            "vlan" => self.compare_vlan(c),
            _ => {}
        }
        if profile.connection.master.is_some() {
            for family in [Family::Ipv4, Family::Ipv6] {
                c.skip(Field::Address, Some(family), NotComparedReason::Port);
            }
            return;
        }
        for family in [Family::Ipv4, Family::Ipv6] {
            let ipv6 = family == Family::Ipv6;
            // No `[ipvX]` group: NetworkManager adds `method=auto`.
            let auto = IpConfig { method: Some("auto".into()), ..IpConfig::defaults(ipv6) };
            let ip = profile.ip(ipv6).unwrap_or(&auto);
            self.compare_ip(c, family, ip, resolv);
        }
    }

    /// Whether the link is of the kind the profile activates on; a difference if not.
    fn compare_kind(&self, c: &mut Comparison<'_, '_>, kind: &str) -> bool {
        let have = c.link.kind.as_deref();
        // An ethernet profile takes a physical device or a veth, nothing virtual else.
        let ok = kind_fits(kind, have);
        if !ok {
            let file = if kind == "802-3-ethernet" { "ethernet" } else { kind };
            let kernel = have.unwrap_or("ethernet").to_string();
            let consequence = format!(
                "{} is a {kernel} link; activating the {file} profile fails on it, or deletes and re-creates it as a {file}",
                c.link.name
            );
            c.differ(Field::Kind, None, Some(file.to_string()), Some(kernel), Activation::Recreate, consequence);
        }
        ok
    }

    fn compare_mtu(&self, c: &mut Comparison<'_, '_>) {
        let profile = &c.p.profile;
        let mtu = profile.ethernet.as_ref().map(|e| e.mtu).or(profile.infiniband.as_ref().map(|i| i.mtu)).unwrap_or(0);
        if mtu == 0 {
            c.skip(Field::Mtu, None, NotComparedReason::MtuAutomatic);
        } else if mtu != c.link.mtu {
            let consequence = format!("activation sets the MTU of {} from {} to {mtu}", c.link.name, c.link.mtu);
            c.differ(
                Field::Mtu,
                None,
                Some(mtu.to_string()),
                Some(c.link.mtu.to_string()),
                Activation::Set,
                consequence,
            );
        }
    }

    fn compare_bond(&self, c: &mut Comparison<'_, '_>) {
        let default = bm_nmconn::profile::Bond::default();
        let bond = c.p.profile.bond.as_ref().unwrap_or(&default);
        let file = bond.mode();
        let kernel = c.link.bond_mode.map(|m| bond_mode_name(m).map_or_else(|| format!("mode {m}"), str::to_string));
        if c.link.bond_mode.map(usize::from) != Some(bond.mode_index()) {
            let consequence = match &kernel {
                Some(k) => format!(
                    "activation sets the mode of bond {} from {k} to {file} (the bond goes down to change it)",
                    c.link.name
                ),
                None => {
                    format!("activation sets the mode of bond {} to {file} (the snapshot has no mode)", c.link.name)
                }
            };
            c.differ(Field::BondMode, None, Some(file.to_string()), kernel, Activation::Set, consequence);
        }
        self.compare_ports(c, "bond");
    }

    /// The ports of a bond: the links of compared profiles naming it as `master`,
    /// against the links the kernel has under it.
    fn compare_ports(&self, c: &mut Comparison<'_, '_>, slave_type: &str) {
        let file: BTreeSet<&str> = self
            .matches
            .iter()
            .filter(|m| {
                let port = &self.profiles[m.profile].profile;
                port.connection.slave_type.as_deref() == Some(slave_type) && names_controller(port, &c.p.profile)
            })
            .map(|m| m.link.name.as_str())
            .collect();
        let kernel: BTreeSet<&str> =
            self.host.links.iter().filter(|l| l.master == Some(c.link.index)).map(|l| l.name.as_str()).collect();
        let controller = c.link.name.clone();
        for port in file.difference(&kernel) {
            let consequence = format!("activation makes {port} a port of {slave_type} {controller}");
            c.differ(Field::Ports, None, Some(port.to_string()), None, Activation::Add, consequence);
        }
        for port in kernel.difference(&file) {
            let consequence = format!(
                "no compared profile makes {port} a port of {slave_type} {controller}: after a reboot it is none"
            );
            c.differ(Field::Ports, None, None, Some(port.to_string()), Activation::Remove, consequence);
        }
    }

    fn compare_vlan(&self, c: &mut Comparison<'_, '_>) {
        let default = bm_nmconn::profile::Vlan::default();
        let vlan = c.p.profile.vlan.as_ref().unwrap_or(&default);
        let name = c.link.name.clone();
        if c.link.vlan_id.map(u32::from) != Some(vlan.id) {
            let kernel = c.link.vlan_id.map(|i| i.to_string());
            let consequence = format!("activation deletes {name} and creates it anew as VLAN {}", vlan.id);
            c.differ(Field::VlanId, None, Some(vlan.id.to_string()), kernel, Activation::Recreate, consequence);
        }
        // The parent: an interface name, or the UUID of a profile (its interface name, or the
        // link it was matched to).
        let file_parent = vlan.parent.as_deref().map(|p| {
            let by_uuid = self
                .profiles
                .iter()
                .position(|q| q.profile.connection.uuid.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(p)));
            match by_uuid {
                Some(j) => self
                    .matches
                    .iter()
                    .find(|m| m.profile == j)
                    .map(|m| m.link.name.clone())
                    .or_else(|| self.profiles[j].profile.connection.interface_name.clone())
                    .unwrap_or_else(|| p.to_string()),
                None => p.to_string(),
            }
        });
        let kernel_parent = c.link.parent.map(|i| self.link_name(i));
        if let Some(file) = file_parent
            && Some(&file) != kernel_parent.as_ref()
        {
            let consequence = format!("activation deletes {name} and creates it anew on {file}");
            c.differ(Field::VlanParent, None, Some(file), kernel_parent, Activation::Recreate, consequence);
        }
    }

    fn compare_ip(&self, c: &mut Comparison<'_, '_>, family: Family, ip: &IpConfig, resolv: Option<&ResolvConf>) {
        let method = ip.method.as_deref().unwrap_or("auto");
        let f = Some(family);
        match method {
            "ignore" | "shared" => {
                for field in [Field::Address, Field::Gateway, Field::Route] {
                    c.skip(field, f, NotComparedReason::Method { method: method.to_string() });
                }
                return;
            }
            "auto" | "dhcp" => {
                for field in [Field::Address, Field::Gateway, Field::Route] {
                    c.skip(field, f, NotComparedReason::Dynamic);
                }
            }
            _ => {}
        }
        self.compare_addresses(c, family, ip);
        self.compare_routes(c, family, ip);
        if let Some(resolv) = resolv
            && method != "disabled"
        {
            compare_dns(c, family, ip, resolv);
        }
    }

    fn compare_addresses(&self, c: &mut Comparison<'_, '_>, family: Family, ip: &IpConfig) {
        let name = c.link.name.clone();
        let file: BTreeMap<IpAddr, u8> = ip.addresses.iter().map(|&(a, p)| (a, p)).collect();
        let kernel: BTreeMap<IpAddr, u8> = self
            .host
            .addresses
            .iter()
            .filter(|a| a.link == c.link.index && family_of(a.ip()) == family)
            .filter(|a| a.valid_lft.is_none() && (!is_link_local(a.ip()) || file.contains_key(&a.ip())))
            .map(|a| (a.ip(), a.addr.prefix_len()))
            .collect();
        for (addr, &plen) in &file {
            match kernel.get(addr) {
                None => {
                    let consequence = format!("activation adds {addr}/{plen} to {name}");
                    c.differ(
                        Field::Address,
                        Some(family),
                        Some(format!("{addr}/{plen}")),
                        None,
                        Activation::Add,
                        consequence,
                    );
                }
                Some(&k) if k != plen => {
                    let consequence =
                        format!("activation replaces {addr}/{k} with {addr}/{plen} on {name}, and its prefix route");
                    c.differ(
                        Field::Prefix,
                        Some(family),
                        Some(format!("{addr}/{plen}")),
                        Some(format!("{addr}/{k}")),
                        Activation::Set,
                        consequence,
                    );
                }
                Some(_) => {}
            }
        }
        for (addr, plen) in kernel.iter().filter(|(a, _)| !file.contains_key(a)) {
            let consequence = format!("activation removes {addr}/{plen} from {name}");
            c.differ(
                Field::Address,
                Some(family),
                None,
                Some(format!("{addr}/{plen}")),
                Activation::Remove,
                consequence,
            );
        }
    }

    fn compare_routes(&self, c: &mut Comparison<'_, '_>, family: Family, ip: &IpConfig) {
        let name = c.link.name.clone();
        let profile_table = if ip.route_table == 0 { MAIN_TABLE } else { ip.route_table };
        // `route-metric`, when the file sets one, is the metric of every route without its own
        // (-1 leaves it to the device's default, which is not compared).
        let profile_metric = u32::try_from(ip.route_metric).ok();
        let mut file: Vec<Want> = Vec::new();
        if let Some(gw) = ip.gateway.as_deref().filter(|_| !ip.never_default) {
            match gw.parse::<IpAddr>() {
                Ok(gw) if family_of(gw) == family => file.push(Want {
                    table: profile_table,
                    destination: default_net(family),
                    gateway: Some(gw),
                    metric: profile_metric,
                }),
                _ => c.skip(Field::Gateway, Some(family), NotComparedReason::Unreadable { value: gw.to_string() }),
            }
        }
        for r in &ip.routes {
            let Ok(destination) = IpNet::new(r.dest, r.plen) else { continue };
            let table =
                r.attributes.get("table").and_then(|t| t.parse().ok()).filter(|&t| t != 0).unwrap_or(profile_table);
            let metric = u32::try_from(r.metric).ok().or(profile_metric);
            file.push(Want { table, destination: destination.trunc(), gateway: r.next_hop, metric });
        }
        let tables: BTreeSet<u32> = file.iter().map(|w| w.table).chain([profile_table]).collect();
        let mut kernel: Vec<&Route> = self
            .host
            .routes
            .iter()
            .filter(|r| r.family == family && tables.contains(&r.table) && r.uses_link(c.link.index))
            .filter(|r| {
                r.kind == RouteType::Unicast && matches!(r.protocol, RouteProtocol::Boot | RouteProtocol::Static)
            })
            .collect();
        // Each wanted route takes a kernel route with its table, destination and gateway (and
        // metric, when the file gives one).
        let mut unmet: Vec<Want> = Vec::new();
        for w in file {
            let gw_ok =
                |r: &Route| r.gateway_via(c.link.index) == w.gateway || (w.gateway.is_none() && r.gateway.is_none());
            let same = |r: &&Route| r.table == w.table && r.destination.trunc() == w.destination && gw_ok(r);
            let exact = kernel.iter().position(|r| same(r) && w.metric.is_none_or(|m| r.metric == m));
            match exact.or_else(|| kernel.iter().position(same)) {
                Some(k) if exact.is_some() => {
                    kernel.swap_remove(k);
                }
                Some(k) => {
                    let r = kernel.swap_remove(k);
                    let field = route_field(&w.destination);
                    let what = phrase(&show(w.destination, w.gateway, None, w.table));
                    let consequence = format!(
                        "activation sets the metric of {what} on {name} from {} to {}",
                        r.metric,
                        w.metric.unwrap_or(0)
                    );
                    c.differ(
                        field,
                        Some(family),
                        Some(w.show()),
                        Some(show_route(r, c.link.index)),
                        Activation::Set,
                        consequence,
                    );
                }
                None => unmet.push(w),
            }
        }
        // What is left on both sides: same table and destination is a changed route, the rest
        // is added or removed.
        for w in unmet {
            let field = route_field(&w.destination);
            let pos = kernel.iter().position(|r| r.table == w.table && r.destination.trunc() == w.destination);
            match pos {
                Some(k) => {
                    let r = kernel.swap_remove(k);
                    let consequence =
                        format!("activation replaces {} with {} on {name}", show_route(r, c.link.index), w.show());
                    c.differ(
                        field,
                        Some(family),
                        Some(w.show()),
                        Some(show_route(r, c.link.index)),
                        Activation::Set,
                        consequence,
                    );
                }
                None => {
                    let consequence = format!("activation adds {} on {name}", phrase(&w.show()));
                    c.differ(field, Some(family), Some(w.show()), None, Activation::Add, consequence);
                }
            }
        }
        for r in kernel {
            let field = route_field(&r.destination);
            let shown = show_route(r, c.link.index);
            let consequence = format!("activation removes {} from {name}", phrase(&shown));
            c.differ(field, Some(family), None, Some(shown), Activation::Remove, consequence);
        }
    }
}

/// A route the file wants.
struct Want {
    table: u32,
    destination: IpNet,
    gateway: Option<IpAddr>,
    metric: Option<u32>,
}

impl Want {
    fn show(&self) -> String {
        show(self.destination, self.gateway, self.metric, self.table)
    }
}

fn show(destination: IpNet, gateway: Option<IpAddr>, metric: Option<u32>, table: u32) -> String {
    let mut s = if destination.prefix_len() == 0 { "default".to_string() } else { destination.to_string() };
    if let Some(g) = gateway {
        s += &format!(" via {g}");
    }
    if let Some(m) = metric {
        s += &format!(" metric {m}");
    }
    if table != MAIN_TABLE {
        s += &format!(" table {table}");
    }
    s
}

fn show_route(r: &Route, link: u32) -> String {
    show(r.destination.trunc(), r.gateway_via(link), Some(r.metric), r.table)
}

/// The field of a route: the default route is the gateway.
fn route_field(destination: &IpNet) -> Field {
    if destination.prefix_len() == 0 { Field::Gateway } else { Field::Route }
}

/// A route as a sentence names it: `the default route via 10.0.0.1`, `the route 10.1.0.0/16`.
fn phrase(shown: &str) -> String {
    match shown.strip_prefix("default") {
        Some(rest) => format!("the default route{rest}"),
        None => format!("the route {shown}"),
    }
}

fn compare_dns(c: &mut Comparison<'_, '_>, family: Family, ip: &IpConfig, resolv: &ResolvConf) {
    for server in ip.dns.iter().filter(|s| !resolv.nameservers.contains(s)) {
        let consequence = format!("activation adds nameserver {server} to resolv.conf");
        c.differ(Field::Dns, Some(family), Some(server.to_string()), None, Activation::Add, consequence);
    }
    for domain in &ip.dns_search {
        let want = domain.trim_start_matches('~').trim_end_matches('.').to_ascii_lowercase();
        // `~domain` routes queries only (systemd-resolved); an empty one is nothing.
        if domain.starts_with('~') || want.is_empty() || resolv.search.contains(&want) {
            continue;
        }
        let consequence = format!("activation adds {want} to the search list of resolv.conf");
        c.differ(Field::DnsSearch, Some(family), Some(want), None, Activation::Add, consequence);
    }
}

fn family_of(a: IpAddr) -> Family {
    if a.is_ipv4() { Family::Ipv4 } else { Family::Ipv6 }
}

fn default_net(family: Family) -> IpNet {
    match family {
        Family::Ipv4 => IpNet::V4(ipnet::Ipv4Net::default()),
        Family::Ipv6 => IpNet::V6(ipnet::Ipv6Net::default()),
    }
}

/// `fe80::/10` (the kernel makes them; NetworkManager does not write them) and `169.254/16`
/// (IPv4 link-local, from avahi-autoipd or `method=link-local`).
fn is_link_local(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    }
}

/// The kernel's bonding modes by number.
fn bond_mode_name(mode: u8) -> Option<&'static str> {
    ["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"]
        .get(usize::from(mode))
        .copied()
}

#[cfg(test)]
mod tests;
