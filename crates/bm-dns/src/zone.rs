//! The cluster zone as lookup tables: owners with their data, empty non-terminals, the
//! wildcard, reverse names. Built once from a [`ZoneConfig`]; lookups take lowercase wire names.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::config::{ConfigError, StaticRecord, ZoneConfig};
use crate::name::{self, label_starts};

/// Record types this zone serves, and the few others the answer logic names.
pub(crate) mod rtype {
    pub(crate) const A: u16 = 1;
    pub(crate) const NS: u16 = 2;
    pub(crate) const CNAME: u16 = 5;
    pub(crate) const SOA: u16 = 6;
    pub(crate) const PTR: u16 = 12;
    pub(crate) const TXT: u16 = 16;
    pub(crate) const AAAA: u16 = 28;
    pub(crate) const SRV: u16 = 33;
    pub(crate) const OPT: u16 = 41;
    pub(crate) const IXFR: u16 = 251;
    pub(crate) const AXFR: u16 = 252;
    pub(crate) const ANY: u16 = 255;
}

/// A multiply-rotate hash over 8-byte words (FxHash's mixing): names are short, and SipHash's
/// per-lookup cost dominated wildcard answers, which look up every ancestor. The tables hold a
/// few hundred names chosen by the operator, so colliding query names can only lengthen a
/// probe through those few.
#[derive(Default)]
pub(crate) struct NameHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            h = (h.rotate_left(5) ^ word).wrapping_mul(SEED);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(last)).wrapping_mul(SEED);
        }
        self.0 = h;
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(SEED);
    }
}

/// Tables keyed by lowercase wire names.
pub(crate) type NameMap<V> = HashMap<Box<[u8]>, V, BuildHasherDefault<NameHasher>>;
/// A set of lowercase wire names.
pub(crate) type NameSet = HashSet<Box<[u8]>, BuildHasherDefault<NameHasher>>;

/// The data of one record (names as lowercase wire bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rdata {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Ns(Vec<u8>),
    Cname(Vec<u8>),
    Soa,
    Ptr(Vec<u8>),
    Txt(Vec<Vec<u8>>),
    Srv { priority: u16, weight: u16, port: u16, target: Vec<u8> },
}

impl Rdata {
    pub(crate) fn rtype(&self) -> u16 {
        match self {
            Rdata::A(_) => rtype::A,
            Rdata::Aaaa(_) => rtype::AAAA,
            Rdata::Ns(_) => rtype::NS,
            Rdata::Cname(_) => rtype::CNAME,
            Rdata::Soa => rtype::SOA,
            Rdata::Ptr(_) => rtype::PTR,
            Rdata::Txt(_) => rtype::TXT,
            Rdata::Srv { .. } => rtype::SRV,
        }
    }

    fn of_addr(addr: IpAddr) -> Rdata {
        match addr {
            IpAddr::V4(a) => Rdata::A(a),
            IpAddr::V6(a) => Rdata::Aaaa(a),
        }
    }
}

/// SOA values with resolved names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Soa {
    pub(crate) mname: Vec<u8>,
    pub(crate) rname: Vec<u8>,
    pub(crate) serial: u32,
    pub(crate) refresh: u32,
    pub(crate) retry: u32,
    pub(crate) expire: u32,
    pub(crate) minimum: u32,
}

/// A cluster zone ready to answer.
#[derive(Clone, Debug)]
pub struct ClusterZone {
    pub(crate) config: ZoneConfig,
    pub(crate) origin: Vec<u8>,
    pub(crate) ttl: u32,
    pub(crate) soa: Soa,
    /// Owners and their records, in the order they were added (ANY answers the first RRset).
    pub(crate) owners: NameMap<Vec<Rdata>>,
    /// Names that exist only because something lies below them (`apps.<zone>`).
    pub(crate) empty_non_terminals: NameSet,
    /// Reverse names of node addresses and VIPs, and their PTR records.
    pub(crate) reverse: NameMap<Vec<Rdata>>,
    /// Single-label node names, when configured, and the owner they stand for.
    pub(crate) short_names: NameMap<Box<[u8]>>,
    pub(crate) upstreams: Vec<SocketAddr>,
    pub(crate) payload: u16,
    /// The TXT answer to the health query: `ok`, the zone and its serial.
    pub(crate) health: Rdata,
}

impl ClusterZone {
    /// Builds the zone, refusing what would be served wrong: IPv4-mapped or unspecified VIPs
    /// and node addresses, names outside the zone, a CNAME next to other data, a node whose
    /// name collides with `api`, `api-int` or `*.apps`.
    pub fn new(config: ZoneConfig) -> Result<ClusterZone, ConfigError> {
        config.check_addresses()?;
        let zone_text = config.zone();
        let origin = name::from_text(&format!("{zone_text}."))
            .map_err(|error| ConfigError::Name { field: "cluster/base_domain".into(), error })?;
        let mname = match &config.soa.mname {
            Some(m) => config.target("soa.mname", m)?,
            None => config.target("soa.mname", "api-int")?,
        };
        let rname = config.target("soa.rname", &config.soa.rname)?;
        let soa = Soa {
            mname: mname.clone(),
            rname,
            serial: config.soa.serial,
            refresh: config.soa.refresh,
            retry: config.soa.retry,
            expire: config.soa.expire,
            minimum: config.soa.minimum,
        };
        let mut zone = ClusterZone {
            origin: origin.clone(),
            ttl: config.ttl,
            soa,
            owners: NameMap::default(),
            empty_non_terminals: NameSet::default(),
            reverse: NameMap::default(),
            short_names: NameMap::default(),
            upstreams: config.upstreams.clone(),
            payload: config.edns_payload,
            health: Rdata::Txt(vec![
                b"ok".to_vec(),
                format!("zone={zone_text}").into_bytes(),
                format!("serial={}", config.soa.serial).into_bytes(),
            ]),
            config: config.clone(),
        };
        zone.add(&origin, Rdata::Soa)?;
        zone.add(&origin, Rdata::Ns(mname))?;

        let api = config.owner("api_vips", "api", &origin)?;
        let api_int = config.owner("api_int_vips", "api-int", &origin)?;
        for &vip in &config.api_vips {
            zone.add(&api, Rdata::of_addr(vip))?;
            zone.add_reverse(vip, &api);
        }
        for &vip in config.api_int() {
            zone.add(&api_int, Rdata::of_addr(vip))?;
            if !config.api_vips.contains(&vip) {
                zone.add_reverse(vip, &api_int);
            }
        }
        if !config.ingress_vips.is_empty() {
            let apps = config.owner("ingress_vips", "*.apps", &origin)?;
            for &vip in &config.ingress_vips {
                zone.add(&apps, Rdata::of_addr(vip))?;
            }
        }
        let reserved = [api.clone(), api_int.clone()];
        for (node, addrs) in &config.nodes {
            let field = format!("nodes.{node}");
            let owner = config.owner(&field, node, &origin)?;
            if reserved.contains(&owner) || zone.owners.contains_key(owner.as_slice()) {
                return Err(ConfigError::Conflict {
                    name: node.clone(),
                    why: "a node may not share a name with api, api-int, another node or the apex".into(),
                });
            }
            if addrs.is_empty() {
                return Err(ConfigError::Conflict {
                    name: node.clone(),
                    why: "a node needs at least one address".into(),
                });
            }
            for &addr in addrs {
                zone.add(&owner, Rdata::of_addr(addr))?;
                zone.add_reverse(addr, &owner);
            }
            if config.short_names && !node.contains('.') {
                let short = name::from_text(&format!("{node}."))
                    .map_err(|error| ConfigError::Name { field: field.clone(), error })?;
                zone.short_names.insert(short.into(), owner.into());
            }
        }
        for (i, record) in config.records.iter().enumerate() {
            let field = format!("records[{i}]");
            let (owner, rdata) = match record {
                StaticRecord::A { name, addr } => (config.owner(&field, name, &origin)?, Rdata::A(*addr)),
                StaticRecord::AAAA { name, addr } => (config.owner(&field, name, &origin)?, Rdata::Aaaa(*addr)),
                StaticRecord::CNAME { name, target } => {
                    (config.owner(&field, name, &origin)?, Rdata::Cname(config.target(&field, target)?))
                }
                StaticRecord::TXT { name, text } => {
                    if text.iter().any(|t| t.len() > 255) {
                        return Err(ConfigError::TxtTooLong { field });
                    }
                    (
                        config.owner(&field, name, &origin)?,
                        Rdata::Txt(text.iter().map(|t| t.as_bytes().to_vec()).collect()),
                    )
                }
                StaticRecord::SRV { name, priority, weight, port, target } => (
                    config.owner(&field, name, &origin)?,
                    Rdata::Srv {
                        priority: *priority,
                        weight: *weight,
                        port: *port,
                        target: config.target(&field, target)?,
                    },
                ),
            };
            if let Rdata::A(a) = rdata {
                check_static(&field, IpAddr::V4(a))?;
            }
            if let Rdata::Aaaa(a) = rdata {
                check_static(&field, IpAddr::V6(a))?;
            }
            zone.add(&owner, rdata)?;
        }
        zone.find_empty_non_terminals();
        Ok(zone)
    }

    /// The configuration the zone was built from.
    pub fn config(&self) -> &ZoneConfig {
        &self.config
    }

    fn add(&mut self, owner: &[u8], rdata: Rdata) -> Result<(), ConfigError> {
        let set = self.owners.entry(owner.into()).or_default();
        let cname_clash =
            (rdata.rtype() == rtype::CNAME && !set.is_empty()) || set.iter().any(|r| r.rtype() == rtype::CNAME);
        if cname_clash {
            return Err(ConfigError::Conflict {
                name: name::to_text(owner),
                why: "a CNAME owner may hold no other record (RFC 1034 §3.6.2)".into(),
            });
        }
        if !set.contains(&rdata) {
            set.push(rdata);
        }
        Ok(())
    }

    fn add_reverse(&mut self, addr: IpAddr, target: &[u8]) {
        let ptrs = self.reverse.entry(name::reverse_name(addr).into()).or_default();
        let ptr = Rdata::Ptr(target.to_vec());
        if !ptrs.contains(&ptr) {
            ptrs.push(ptr);
        }
    }

    fn find_empty_non_terminals(&mut self) {
        let mut ents = NameSet::default();
        for owner in self.owners.keys() {
            // Every proper ancestor strictly below the apex.
            for start in label_starts(owner).skip(1) {
                let ancestor = &owner[start..];
                if ancestor.len() <= self.origin.len() {
                    break;
                }
                if !self.owners.contains_key(ancestor) {
                    ents.insert(Box::<[u8]>::from(ancestor));
                }
            }
        }
        self.empty_non_terminals = ents;
    }

    /// The negative-caching TTL: the SOA's minimum, capped by its own TTL (RFC 2308 §5).
    pub(crate) fn negative_ttl(&self) -> u32 {
        self.soa.minimum.min(self.ttl)
    }
}

fn check_static(field: &str, addr: IpAddr) -> Result<(), ConfigError> {
    let c = bm_addr::classify(addr);
    if c.kind == bm_addr::Kind::Ipv4Mapped {
        let v4 = c.embedded_ipv4.unwrap_or(Ipv4Addr::UNSPECIFIED);
        return Err(ConfigError::MappedAddress { field: field.into(), addr, v4 });
    }
    Ok(())
}
