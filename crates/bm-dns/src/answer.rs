//! Answering: from query bytes to response bytes (RFC 1034 §4.3.2 for a zone without
//! delegations, RFC 2308 negative answers, RFC 4592 wildcards, RFC 6891 EDNS, RFC 8482 ANY,
//! RFC 9619 one question).

use crate::name::{self, label_starts};
use crate::request::{self, Refusal, Request, Tsig};
use crate::zone::{ClusterZone, Rdata, rtype};

/// What to do with a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Outcome {
    /// `out` holds the response to send.
    Answered,
    /// The name is outside the zone: send the query to the upstreams (`out` is untouched).
    Forward,
    /// Send nothing (not a query, or too short to answer).
    Drop,
}

/// The transport a query came over: UDP responses are truncated to the client's payload size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// UDP: at most 512 bytes, or the EDNS payload both sides accept.
    Udp,
    /// TCP: up to 65,535 bytes.
    Tcp,
}

const CLASS_IN: u16 = 1;
const CLASS_CH: u16 = 3;
/// `health.bmnet.`: a CHAOS TXT query for it is how a static pod's probe asks whether the
/// server is up (`dig @NODE health.bmnet TXT CH`).
pub(crate) const HEALTH_NAME: &[u8] = b"\x06health\x05bmnet\x00";
const NOERROR: u8 = 0;
const FORMERR: u8 = 1;
const NXDOMAIN: u8 = 3;
const NOTIMP: u8 = 4;
const REFUSED: u8 = 5;
/// BADVERS is extended RCODE 16: 0 in the header, 1 in the OPT's upper bits.
const BADVERS: u16 = 16;
/// CNAME chains inside the zone are followed at most this far.
const MAX_CHAIN: usize = 8;

/// An answer record's owner: the query's own name (written as a pointer to the question, so the
/// query's case comes back), or another name.
#[derive(Clone, Copy, Debug)]
enum Owner<'z> {
    Qname,
    Name(&'z [u8]),
}

/// A run of answer records: those of `records` whose type is `want`, all owned by `owner`.
#[derive(Clone, Copy, Debug)]
struct Segment<'z> {
    owner: Owner<'z>,
    records: &'z [Rdata],
    want: u16,
}

impl Segment<'_> {
    fn iter(&self) -> impl Iterator<Item = &Rdata> + '_ {
        self.records.iter().filter(move |r| r.rtype() == self.want)
    }
}

/// What the zone says about a name. Fixed-size, so that answering allocates nothing.
struct Resolution<'z> {
    rcode: u8,
    authoritative: bool,
    segments: [Option<Segment<'z>>; MAX_CHAIN + 1],
    /// Negative answer: the SOA goes into the authority section.
    soa: bool,
}

impl<'z> Resolution<'z> {
    fn new(rcode: u8, authoritative: bool) -> Self {
        Resolution { rcode, authoritative, segments: [None; MAX_CHAIN + 1], soa: false }
    }

    fn push(&mut self, segment: Segment<'z>) {
        if let Some(slot) = self.segments.iter_mut().find(|s| s.is_none()) {
            *slot = Some(segment);
        }
    }

    fn answer_count(&self) -> usize {
        self.segments.iter().flatten().map(|s| s.iter().count()).sum()
    }
}

impl ClusterZone {
    /// Answers a query received over UDP. See [`ClusterZone::answer_over`].
    pub fn answer(&self, query: &[u8], out: &mut Vec<u8>) -> Outcome {
        self.answer_over(query, Transport::Udp, out)
    }

    /// Answers a query given as wire bytes, writing the response into `out` (cleared first).
    ///
    /// Names in the zone get authoritative answers; reverse names of node addresses and VIPs
    /// get PTRs; other names are [`Outcome::Forward`] when upstreams are configured and
    /// REFUSED otherwise. Malformed queries get FORMERR (built from the raw header when the
    /// question cannot be read), other opcodes NOTIMP, responses and runts nothing.
    ///
    /// ```
    /// use bm_dns::{ClusterZone, Outcome, ZoneConfig};
    /// use hickory_proto::op::{Message, Query};
    /// use hickory_proto::rr::{Name, RecordType};
    ///
    /// let zone = ClusterZone::new(ZoneConfig::from_toml(r#"
    ///     cluster = "c"
    ///     base_domain = "example.com"
    ///     api_vips = ["192.0.2.5"]
    /// "#).unwrap()).unwrap();
    /// let mut q = Message::query();
    /// q.add_query(Query::query(Name::from_ascii("API.c.example.com.").unwrap(), RecordType::A));
    /// let mut out = Vec::new();
    /// assert_eq!(zone.answer(&q.to_vec().unwrap(), &mut out), Outcome::Answered);
    /// let r = Message::from_vec(&out).unwrap();
    /// assert!(r.metadata.authoritative);
    /// assert_eq!(r.answers[0].name.to_ascii(), "API.c.example.com."); // the query's case
    /// ```
    pub fn answer_over(&self, query: &[u8], transport: Transport, out: &mut Vec<u8>) -> Outcome {
        self.answer_for(query, transport, &|| true, out)
    }

    /// [`ClusterZone::answer_over`] for a client that may (`recursion()`, asked only for a name
    /// that would be forwarded) or may not have names outside the zone forwarded: a client that
    /// may not gets REFUSED for them, as from a server without upstreams.
    pub(crate) fn answer_for(
        &self,
        query: &[u8],
        transport: Transport,
        recursion: &dyn Fn() -> bool,
        out: &mut Vec<u8>,
    ) -> Outcome {
        out.clear();
        let req = match request::fast(query).ok_or(()).or_else(|()| request::general(query)) {
            Ok(r) => r,
            Err(Refusal::Drop) => return Outcome::Drop,
            Err(Refusal::FormErr) => {
                raw_error(query, FORMERR, out);
                return Outcome::Answered;
            }
            Err(Refusal::NotImp) => {
                raw_error(query, NOTIMP, out);
                return Outcome::Answered;
            }
        };
        self.respond(query, &req, transport, recursion, out)
    }

    /// REFUSED for `query` (question and OPT echoed), or nothing for what is not a query: the
    /// answer to a client that may not query at all.
    pub(crate) fn refuse(&self, query: &[u8], transport: Transport, out: &mut Vec<u8>) -> Outcome {
        out.clear();
        match request::fast(query).ok_or(()).or_else(|()| request::general(query)) {
            Ok(req) => {
                let res = Resolution::new(REFUSED, false);
                write_response(query, &req, REFUSED, false, &res, self, transport, out);
                Outcome::Answered
            }
            Err(_) => Outcome::Drop,
        }
    }

    /// `answer_for` with the query read by one path only (the tests and the fuzz target of
    /// fast/general equivalence): `None` when that path does not read it.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn answer_by(
        &self,
        query: &[u8],
        general: bool,
        transport: Transport,
        recursion: bool,
        out: &mut Vec<u8>,
    ) -> Option<Outcome> {
        out.clear();
        let req = if general { request::general(query).ok()? } else { request::fast(query)? };
        Some(self.respond(query, &req, transport, &|| recursion, out))
    }

    fn respond(
        &self,
        query: &[u8],
        req: &Request,
        transport: Transport,
        recursion: &dyn Fn() -> bool,
        out: &mut Vec<u8>,
    ) -> Outcome {
        let outcome = self.resolve_request(query, req, transport, recursion, out);
        // A signed query: we hold no keys, so whatever we would have answered becomes NOTAUTH
        // with TSIG error BADKEY (RFC 8945 §5.2.2), unsigned. A forwarded one goes on unchanged
        // for the upstream to check (§5.5).
        if let (Outcome::Answered, Some(tsig)) = (outcome, &req.tsig) {
            write_badkey(query, req, tsig, self, out);
        }
        outcome
    }

    fn resolve_request(
        &self,
        query: &[u8],
        req: &Request,
        transport: Transport,
        recursion: &dyn Fn() -> bool,
        out: &mut Vec<u8>,
    ) -> Outcome {
        if req.opcode != 0 {
            write_response(query, req, NOTIMP, false, &Resolution::new(NOERROR, false), self, transport, out);
            return Outcome::Answered;
        }
        if let Some(e) = req.edns
            && e.version != 0
        {
            let ext = Resolution::new(NOERROR, false);
            write_full(query, req, BADVERS, false, &ext, self, transport, out);
            return Outcome::Answered;
        }
        if req.qtype == rtype::OPT {
            write_response(query, req, FORMERR, false, &Resolution::new(NOERROR, false), self, transport, out);
            return Outcome::Answered;
        }
        let qname = req.qname();
        let in_zone = name::is_within(qname, &self.origin);
        let res = if req.qclass == CLASS_CH && qname == HEALTH_NAME && req.qtype == rtype::TXT {
            let mut res = Resolution::new(NOERROR, true);
            res.push(Segment { owner: Owner::Qname, records: std::slice::from_ref(&self.health), want: rtype::TXT });
            res
        } else if req.qclass != CLASS_IN || (in_zone && (req.qtype == rtype::AXFR || req.qtype == rtype::IXFR)) {
            Resolution::new(REFUSED, false)
        } else if in_zone {
            self.resolve(qname, req.qtype)
        } else if let Some(ptrs) = self.reverse.get(qname) {
            let mut res = Resolution::new(NOERROR, true);
            if req.qtype == rtype::PTR || req.qtype == rtype::ANY {
                res.push(Segment { owner: Owner::Qname, records: ptrs, want: rtype::PTR });
            }
            res
        } else if let Some(set) = self.short_names.get(qname).and_then(|o| self.owners.get(o)) {
            // Not in the zone: positive answers only, and no SOA for the missing family.
            let mut res = Resolution::new(NOERROR, true);
            let want = if req.qtype == rtype::ANY { set[0].rtype() } else { req.qtype };
            res.push(Segment { owner: Owner::Qname, records: set, want });
            res
        } else if !self.upstreams.is_empty() && req.rd && recursion() {
            return Outcome::Forward;
        } else {
            // No upstream, a client that may not recurse, or RD clear: a name we do not serve
            // is REFUSED, as NSD and Knot answer (never forwarded without RD: the client asked
            // this server, not the world).
            Resolution::new(REFUSED, false)
        };
        write_response(query, req, res.rcode, res.authoritative, &res, self, transport, out);
        Outcome::Answered
    }

    /// RFC 1034 §4.3.2 step 3 inside the zone, with CNAMEs followed inside the zone.
    fn resolve<'z>(&'z self, qname: &[u8], qtype: u16) -> Resolution<'z> {
        let mut res = Resolution::new(NOERROR, true);
        let mut owner = Owner::Qname;
        let mut current: &[u8] = qname;
        for _ in 0..MAX_CHAIN {
            let Some(set) = self.records_at(current) else {
                if !self.empty_non_terminals.contains(current) {
                    res.rcode = NXDOMAIN; // RFC 6604: the rcode of the last name in the chain
                }
                res.soa = true;
                return res;
            };
            if let Some(Rdata::Cname(target)) = set.iter().find(|r| r.rtype() == rtype::CNAME)
                && qtype != rtype::CNAME
                && qtype != rtype::ANY
            {
                res.push(Segment { owner, records: set, want: rtype::CNAME });
                if !name::is_within(target, &self.origin) {
                    return res; // the resolver follows it
                }
                current = target;
                owner = Owner::Name(target);
                continue;
            }
            let want = if qtype == rtype::ANY { set[0].rtype() } else { qtype };
            let segment = Segment { owner, records: set, want };
            // NODATA, also at the end of a CNAME chain (RFC 2308 §2.2): the SOA goes along.
            res.soa = segment.iter().next().is_none();
            res.push(segment);
            return res;
        }
        res
    }

    /// The records at a name: its own, or those of the wildcard at its closest encloser
    /// (RFC 4592 §3.3.1). `None` when the name does not exist (or is an empty non-terminal).
    fn records_at(&self, name: &[u8]) -> Option<&[Rdata]> {
        if let Some(set) = self.owners.get(name) {
            return Some(set);
        }
        if self.empty_non_terminals.contains(name) {
            return None;
        }
        // The closest encloser: the longest existing ancestor (the apex always exists).
        let encloser = label_starts(name).skip(1).map(|s| &name[s..]).find(|a| {
            self.owners.contains_key(*a) || self.empty_non_terminals.contains(*a) || *a == &self.origin[..]
        })?;
        let mut wildcard = [0u8; name::MAX_NAME + 2];
        let len = encloser.len() + 2;
        if len > name::MAX_NAME {
            return None;
        }
        wildcard[0] = 1;
        wildcard[1] = b'*';
        wildcard[2..len].copy_from_slice(encloser);
        self.owners.get(&wildcard[..len]).map(Vec::as_slice)
    }
}

/// Writes a SERVFAIL for `query` — what a server sends when no upstream answered — with the
/// question echoed when it can be read. `false` (and nothing written) for what is not a query.
pub fn servfail(query: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    if request::header(query).is_err() {
        return false;
    }
    match request::fast(query).ok_or(()).or_else(|()| request::general(query)) {
        Ok(req) => {
            let mut w = Writer::new(out, &req, &[]);
            w.header(&req, 2, false, false);
            w.question(query, &req);
            w.counts(0, 0, 0);
        }
        Err(_) => raw_error(query, 2, out),
    }
    true
}

/// NOTAUTH with TSIG error BADKEY for a signed query: header, question, our OPT when the query
/// had one, and an unsigned TSIG record (MAC size 0) naming the key and algorithm the query
/// used, its time signed, fudge and original ID (RFC 8945 §5.2.2, §5.3.2; Knot's shape).
fn write_badkey(query: &[u8], req: &Request, tsig: &Tsig, zone: &ClusterZone, out: &mut Vec<u8>) {
    const NOTAUTH: u16 = 9;
    const BADKEY: u16 = 17;
    const TSIG: u16 = 250;
    const CLASS_ANY: u16 = 255;
    let mut w = Writer::new(out, req, &[]);
    w.header(req, NOTAUTH, false, false);
    w.question(query, req);
    let opt = u16::from(w.opt(req, NOTAUTH, zone.payload));
    let out = w.out;
    out.extend_from_slice(&tsig.key);
    out.extend_from_slice(&TSIG.to_be_bytes());
    out.extend_from_slice(&CLASS_ANY.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    let rdata = tsig.algorithm.len() + 6 + 2 + 2 + 2 + 2 + 2;
    out.extend_from_slice(&(rdata as u16).to_be_bytes());
    out.extend_from_slice(&tsig.algorithm);
    out.extend_from_slice(&tsig.time.to_be_bytes()[2..]);
    out.extend_from_slice(&tsig.fudge.to_be_bytes());
    out.extend_from_slice(&[0, 0]); // MAC size
    out.extend_from_slice(&tsig.original_id.to_be_bytes());
    out.extend_from_slice(&BADKEY.to_be_bytes());
    out.extend_from_slice(&[0, 0]); // other len
    out[6..12].copy_from_slice(&[0, 0, 0, 0, 0, 0]);
    out[11] = (opt + 1) as u8;
}

/// FORMERR or NOTIMP from the raw header alone: same id and opcode, RD copied, no sections.
fn raw_error(query: &[u8], rcode: u8, out: &mut Vec<u8>) {
    out.extend_from_slice(&query[..2]);
    out.push(0x80 | (query[2] & 0x79)); // QR, opcode, RD
    out.push(rcode);
    out.extend_from_slice(&[0; 8]);
}

#[allow(clippy::too_many_arguments)]
fn write_response(
    query: &[u8],
    req: &Request,
    rcode: u8,
    aa: bool,
    res: &Resolution<'_>,
    zone: &ClusterZone,
    transport: Transport,
    out: &mut Vec<u8>,
) {
    write_full(query, req, u16::from(rcode), aa, res, zone, transport, out);
}

/// Writes header, question, answers, the SOA for negative answers and the OPT; truncates for
/// UDP when the result does not fit.
#[allow(clippy::too_many_arguments)]
fn write_full(
    query: &[u8],
    req: &Request,
    rcode: u16,
    aa: bool,
    res: &Resolution<'_>,
    zone: &ClusterZone,
    transport: Transport,
    out: &mut Vec<u8>,
) {
    let mut w = Writer::new(out, req, &zone.origin);
    w.header(req, rcode, aa, false);
    w.question(query, req);
    let mut an = 0u16;
    for segment in res.segments.iter().flatten() {
        for rdata in segment.iter() {
            w.record(segment.owner, rdata, zone.ttl, zone);
            an = an.saturating_add(1);
        }
    }
    debug_assert_eq!(usize::from(an), res.answer_count());
    let mut ns = 0u16;
    if res.soa {
        w.record(Owner::Name(&zone.origin), &Rdata::Soa, zone.negative_ttl(), zone);
        ns = 1;
    }
    let ar = u16::from(w.opt(req, rcode, zone.payload));
    w.counts(an, ns, ar);
    let limit = match (transport, req.edns) {
        (Transport::Tcp, _) => usize::from(u16::MAX),
        (Transport::Udp, Some(e)) => usize::from(e.payload.min(zone.payload).max(512)),
        (Transport::Udp, None) => 512,
    };
    if w.out.len() > limit {
        // Too big: the question and the OPT only, TC set (RFC 2181 §9, RFC 6891 §7).
        w.out.truncate(0);
        w.header(req, rcode, aa, true);
        w.question(query, req);
        let ar = u16::from(w.opt(req, rcode, zone.payload));
        w.counts(0, 0, ar);
    }
}

/// Writes a response into a buffer, compressing names against the question: the query's own
/// name is a pointer to offset 12, and a name inside the zone ends in a pointer to where the
/// zone's name starts within the question.
struct Writer<'o, 'r> {
    out: &'o mut Vec<u8>,
    /// Offset of the zone's name inside the question's name, when the question is in the zone.
    origin_at: Option<u16>,
    qname: &'r [u8],
}

impl<'o, 'r> Writer<'o, 'r> {
    fn new(out: &'o mut Vec<u8>, req: &'r Request, origin: &[u8]) -> Writer<'o, 'r> {
        let qname = req.qname();
        let origin_at =
            if name::is_within(qname, origin) { Some((12 + qname.len() - origin.len()) as u16) } else { None };
        Writer { out, origin_at, qname }
    }

    fn header(&mut self, req: &Request, rcode: u16, aa: bool, tc: bool) {
        self.out.clear();
        self.out.extend_from_slice(&req.id.to_be_bytes());
        let mut b2 = 0x80 | (req.opcode << 3);
        if aa {
            b2 |= 0x04;
        }
        if tc {
            b2 |= 0x02;
        }
        if req.rd {
            b2 |= 0x01;
        }
        let mut b3 = (rcode & 0x0f) as u8;
        if req.cd {
            b3 |= 0x10;
        }
        self.out.extend_from_slice(&[b2, b3, 0, 1, 0, 0, 0, 0, 0, 0]);
    }

    fn question(&mut self, query: &[u8], req: &Request) {
        // The name as it came, so the client sees its own case (0x20).
        self.out.extend_from_slice(&query[12..req.qname_end]);
        self.out.extend_from_slice(&req.qtype.to_be_bytes());
        self.out.extend_from_slice(&req.qclass.to_be_bytes());
    }

    fn counts(&mut self, an: u16, ns: u16, ar: u16) {
        self.out[6..8].copy_from_slice(&an.to_be_bytes());
        self.out[8..10].copy_from_slice(&ns.to_be_bytes());
        self.out[10..12].copy_from_slice(&ar.to_be_bytes());
    }

    /// A name, compressed where it can be.
    fn name(&mut self, wire: &[u8], compress: bool) {
        if compress && wire == self.qname {
            self.out.extend_from_slice(&[0xC0, 12]);
            return;
        }
        if compress && let Some(at) = self.origin_at {
            let origin_len = self.qname.len() - usize::from(at - 12);
            if wire.len() >= origin_len && name::is_within(wire, &self.qname[usize::from(at - 12)..]) {
                let prefix = &wire[..wire.len() - origin_len];
                self.out.extend_from_slice(prefix);
                self.out.extend_from_slice(&(0xC000 | at).to_be_bytes());
                return;
            }
        }
        self.out.extend_from_slice(wire);
    }

    fn record(&mut self, owner: Owner<'_>, rdata: &Rdata, ttl: u32, zone: &ClusterZone) {
        match owner {
            Owner::Qname => self.out.extend_from_slice(&[0xC0, 12]),
            Owner::Name(n) => self.name(n, true),
        }
        self.out.extend_from_slice(&rdata.rtype().to_be_bytes());
        // Only the health answer is not of class IN, and it answers a CHAOS question.
        let class = if std::ptr::eq(rdata, &zone.health) { CLASS_CH } else { CLASS_IN };
        let ttl = if class == CLASS_CH { 0 } else { ttl };
        self.out.extend_from_slice(&class.to_be_bytes());
        self.out.extend_from_slice(&ttl.to_be_bytes());
        let len_at = self.out.len();
        self.out.extend_from_slice(&[0, 0]);
        match rdata {
            Rdata::A(a) => self.out.extend_from_slice(&a.octets()),
            Rdata::Aaaa(a) => self.out.extend_from_slice(&a.octets()),
            Rdata::Ns(n) | Rdata::Cname(n) | Rdata::Ptr(n) => self.name(n, true),
            Rdata::Soa => {
                let soa = &zone.soa;
                self.name(&soa.mname, true);
                self.name(&soa.rname, true);
                for v in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] {
                    self.out.extend_from_slice(&v.to_be_bytes());
                }
            }
            Rdata::Txt(strings) => {
                for s in strings {
                    self.out.push(s.len() as u8);
                    self.out.extend_from_slice(s);
                }
            }
            Rdata::Srv { priority, weight, port, target } => {
                for v in [priority, weight, port] {
                    self.out.extend_from_slice(&v.to_be_bytes());
                }
                self.name(target, false); // RFC 2782: never compressed
            }
        }
        let len = (self.out.len() - len_at - 2) as u16;
        self.out[len_at..len_at + 2].copy_from_slice(&len.to_be_bytes());
    }

    /// The OPT record when the query had one: our payload, the extended RCODE bits, DO copied.
    fn opt(&mut self, req: &Request, rcode: u16, payload: u16) -> bool {
        let Some(e) = req.edns else { return false };
        self.out.push(0);
        self.out.extend_from_slice(&rtype::OPT.to_be_bytes());
        self.out.extend_from_slice(&payload.to_be_bytes());
        self.out.push((rcode >> 4) as u8);
        self.out.push(0); // version 0
        self.out.extend_from_slice(&(if e.dnssec_ok { 0x8000u16 } else { 0 }).to_be_bytes());
        self.out.extend_from_slice(&[0, 0]);
        true
    }
}
