//! The one decision every transport (UDP, TCP, XDP) makes for a query, sans-IO: who asks
//! decides what they may have, then the zone answers or the query goes upstream.

use std::net::IpAddr;

use crate::access::Access;
use crate::answer::{Outcome, Transport};
use crate::zone::ClusterZone;

/// The cluster zone with the access rules of one server.
///
/// ```
/// use bm_dns::{Access, AclEntry, ClusterZone, Outcome, Responder, Transport, ZoneConfig};
/// use hickory_proto::op::{Message, Query, ResponseCode};
/// use hickory_proto::rr::{Name, RecordType};
///
/// let zone = ClusterZone::new(ZoneConfig::from_toml(r#"
///     cluster = "c"
///     base_domain = "example.com"
///     api_vips = ["192.168.111.5"]
///     upstreams = ["192.0.2.53:53"]
/// "#).unwrap()).unwrap();
/// let localnets = ["192.168.111.0/24".parse().unwrap()];
/// let access = Access::resolve(&[AclEntry::Localhost, AclEntry::Localnets], &[AclEntry::Any], &localnets);
/// let responder = Responder::new(zone, access);
///
/// let mut q = Message::query();
/// q.metadata.recursion_desired = true;
/// q.add_query(Query::query(Name::from_ascii("www.example.org.").unwrap(), RecordType::A));
/// let q = q.to_vec().unwrap();
/// let mut out = Vec::new();
/// // A node on the machine network has it forwarded; a client from elsewhere is refused.
/// assert_eq!(responder.respond(&q, "192.168.111.21".parse().unwrap(), Transport::Udp, &mut out), Outcome::Forward);
/// assert_eq!(responder.respond(&q, "10.128.0.7".parse().unwrap(), Transport::Udp, &mut out), Outcome::Answered);
/// assert_eq!(Message::from_vec(&out).unwrap().metadata.response_code, ResponseCode::Refused);
/// ```
#[derive(Clone, Debug)]
pub struct Responder {
    zone: ClusterZone,
    access: Access,
}

impl Responder {
    /// The zone served under these rules.
    pub fn new(zone: ClusterZone, access: Access) -> Responder {
        Responder { zone, access }
    }

    /// The zone.
    pub fn zone(&self) -> &ClusterZone {
        &self.zone
    }

    /// The rules.
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// Answers `query` from `client` into `out`, or says to forward or drop it. A client not on
    /// the query list gets REFUSED for everything; names outside the zone are forwarded only
    /// for clients on the recursion list that set RD, and REFUSED otherwise; everything else is
    /// [`ClusterZone::answer_over`].
    pub fn respond(&self, query: &[u8], client: IpAddr, transport: Transport, out: &mut Vec<u8>) -> Outcome {
        if !self.access.query.allows(client) {
            return self.zone.refuse(query, transport, out);
        }
        self.zone.answer_for(query, transport, &|| self.access.recursion.allows(client), out)
    }
}
