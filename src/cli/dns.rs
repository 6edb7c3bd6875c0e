//! `bmnet dns`: the cluster zone offline — its zone file, and answers to single queries.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bm_dns::{AclEntry, ClusterZone, ConfigError, Outcome, Server, ServerConfig, Severity, Transport, ZoneConfig};
use clap::{Args, Subcommand};
use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{Name, Record, RecordType};
use serde_json::json;

use super::Status;
use super::output::Output;

#[derive(Subcommand, Debug)]
pub(crate) enum DnsCommand {
    /// Serve the cluster zone over UDP and TCP, forwarding other names to the upstreams.
    /// SIGHUP (or a change of --config) reloads without dropping queries; SIGTERM stops.
    /// `dig @ADDR health.bmnet TXT CH` answers "ok" while it runs.
    Serve(Box<ServeArgs>),
    /// Render the node's resolv.conf from NetworkManager's: this node's IP first, the cluster
    /// domain first in `search`, at most three nameservers. With --check, report what in a
    /// resolv.conf would loop or lose resolvers instead (exit 1 on errors).
    ResolvConf {
        /// The node IP the cluster DNS listens on.
        #[arg(long, value_name = "IP", required_unless_present = "check")]
        node_ip: Option<IpAddr>,
        /// The cluster domain (`<cluster>.<base domain>`).
        #[arg(long, value_name = "DOMAIN", required_unless_present = "check")]
        cluster_domain: Option<String>,
        /// The upstream resolv.conf.
        #[arg(long, value_name = "FILE", default_value = "/var/run/NetworkManager/resolv.conf")]
        input: PathBuf,
        /// Write here (atomically, mode kept) instead of printing.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Check FILE instead of rendering; with --node-ip, as the file the server forwards to.
        #[arg(long, value_name = "FILE")]
        check: Option<PathBuf>,
    },
    /// Print the cluster zone as an RFC 1035 zone file (for NSD, Knot or BIND).
    Zonefile {
        /// The zone's configuration (TOML).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Ask a running server whether it is up: `health.bmnet TXT CH` over UDP (what
    /// `dig @ADDR health.bmnet TXT CH` asks), exit 0 when it answers "ok" within the timeout, 1
    /// otherwise. The liveness probe of the static pod and the systemd unit's health check.
    Health {
        /// The server, `IP` or `IP:PORT` (default: the first address the `dns serve` of this
        /// network namespace says it listens on, a wildcard one asked on loopback; else
        /// 127.0.0.1:53).
        #[arg(long, value_name = "IP[:PORT]", value_parser = parse_upstream)]
        server: Option<SocketAddr>,
        /// How long to wait for the answer, in milliseconds.
        #[arg(long, value_name = "MILLISECONDS", default_value_t = 1000)]
        timeout: u64,
    },
    /// Answer one query from the zone, offline, as the server would (exit 0 for any answer).
    Query {
        /// The name to ask for.
        name: String,
        /// The record type (A, AAAA, ANY, SOA, NS, TXT, SRV, PTR, CNAME, ...).
        #[arg(default_value = "A")]
        rtype: String,
        /// The zone's configuration (TOML).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Ask as over TCP (no truncation).
        #[arg(long)]
        tcp: bool,
        /// Ask without EDNS(0) (answers are then limited to 512 bytes over UDP).
        #[arg(long)]
        no_edns: bool,
    },
}

/// `bmnet dns serve`.
#[derive(Args, Debug)]
pub(crate) struct ServeArgs {
    /// Address and port to listen on (UDP and TCP). Repeatable.
    #[arg(long, value_name = "ADDR:PORT", required_unless_present = "listen_file")]
    listen: Vec<SocketAddr>,
    /// Also listen on the addresses in FILE, one per line, `IP` (port 53) or `IP:PORT`: the
    /// node's own, as `bmnet node-ip set` writes it (/run/nodeip-configuration/primary-ip), so
    /// that one unit file or static pod serves every node on its address.
    #[arg(long, value_name = "FILE")]
    listen_file: Option<PathBuf>,
    /// The zone's configuration (TOML); reloaded on SIGHUP and when it changes.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["zone", "api_vips"])]
    config: Option<PathBuf>,
    /// The zone, `<cluster>.<base domain>` (instead of --config).
    #[arg(long, value_name = "CLUSTER.DOMAIN", required_unless_present = "config")]
    zone: Option<String>,
    /// API VIP. Repeatable.
    #[arg(long = "api-vip", value_name = "IP")]
    api_vips: Vec<IpAddr>,
    /// API-internal VIP (default: the API VIPs). Repeatable.
    #[arg(long = "api-int-vip", value_name = "IP")]
    api_int_vips: Vec<IpAddr>,
    /// Ingress VIP (`*.apps`). Repeatable.
    #[arg(long = "ingress-vip", value_name = "IP")]
    ingress_vips: Vec<IpAddr>,
    /// A node: `NAME=IP[,IP]`. Repeatable.
    #[arg(long = "node", value_name = "NAME=IP[,IP]", value_parser = parse_node)]
    nodes: Vec<(String, Vec<IpAddr>)>,
    /// Upstream server for other names, `IP` or `IP:PORT`, tried in order. Repeatable;
    /// replaces the config's `upstreams`.
    #[arg(long = "upstream", value_name = "IP[:PORT]", value_parser = parse_upstream)]
    upstreams: Vec<SocketAddr>,
    /// TTL of every record.
    #[arg(long, default_value_t = 30)]
    ttl: u32,
    /// UDP worker threads per address (default: one per CPU).
    #[arg(long)]
    workers: Option<usize>,
    /// Answer UDP queries arriving on this interface over AF_XDP, before the kernel's IP
    /// stack (as Knot DNS's XDP mode; needs root). One thread per receive queue; TCP and
    /// forwarded queries still use the --listen sockets. Repeatable.
    #[arg(long, value_name = "IFACE")]
    xdp: Vec<String>,
    /// Under load, how long a worker (UDP sockets or XDP) lets a batch of queries gather before
    /// taking it, in microseconds (0: as soon as woken). Trades up to this much latency, under
    /// load only, for fewer wake-ups and system calls.
    #[arg(long, value_name = "MICROSECONDS", default_value_t = 500, alias = "xdp-batch-wait")]
    batch_wait: u64,
    /// Who may have names outside the zone forwarded: a CIDR or address, `localhost`,
    /// `localnets` (the on-link subnets of the --listen addresses), `any` or `none`.
    /// Repeatable; replaces the config's `allow_recursion` (default: localhost and localnets).
    /// Others get REFUSED for such names; the zone is answered for everyone.
    #[arg(long, value_name = "CIDR|localhost|localnets|any|none")]
    allow_recursion: Vec<AclEntry>,
    /// Who may query at all (same forms); replaces the config's `allow_query` (default: any).
    #[arg(long, value_name = "CIDR|localhost|localnets|any|none")]
    allow_query: Vec<AclEntry>,
    /// Response-rate limiting: UDP answers per second per client /24 (IPv4) or /56 (IPv6) and
    /// kind of answer, as NSD's rrl-ratelimit (off by default; 0 turns a config's off).
    #[arg(long, value_name = "PER_SECOND")]
    rate_limit: Option<u32>,
    /// With --rate-limit: every Nth answer over the limit goes out truncated so that real
    /// clients retry over TCP; the rest are dropped (0: drop all). Default 2, as NSD.
    #[arg(long, value_name = "N", requires = "rate_limit")]
    rate_limit_slip: Option<u32>,
    /// How long each upstream gets before the next is tried, in milliseconds; after the last
    /// the client gets SERVFAIL.
    #[arg(long, value_name = "MILLISECONDS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    upstream_timeout: u64,
}

impl ServeArgs {
    /// The upstream, access and rate-limit flags applied over a configuration (its file's keys,
    /// or the defaults): on every load, so that a reload keeps them.
    fn apply(&self, config: &mut ZoneConfig) {
        if !self.upstreams.is_empty() {
            config.upstreams = self.upstreams.clone();
        }
        if !self.allow_recursion.is_empty() {
            config.allow_recursion = self.allow_recursion.clone();
        }
        if !self.allow_query.is_empty() {
            config.allow_query = self.allow_query.clone();
        }
        match self.rate_limit {
            Some(0) => config.rate_limit = None,
            Some(rate) => {
                let mut rl = config.rate_limit.unwrap_or_default();
                rl.responses_per_second = rate;
                if let Some(slip) = self.rate_limit_slip {
                    rl.slip = slip;
                }
                config.rate_limit = Some(rl);
            }
            None => {}
        }
    }
}

fn parse_node(s: &str) -> Result<(String, Vec<IpAddr>), String> {
    let (name, ips) = s.split_once('=').ok_or_else(|| format!("{s:?}: expected NAME=IP[,IP]"))?;
    let ips = ips
        .split(',')
        .map(|ip| bm_addr::parse_addr(ip).map_err(|e| format!("{ip:?}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((name.to_string(), ips))
}

fn parse_upstream(s: &str) -> Result<SocketAddr, String> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(sa);
    }
    bm_addr::parse_addr(s).map(|ip| SocketAddr::new(ip, 53)).map_err(|e| format!("{s:?}: {e}"))
}

pub(crate) fn run(out: &mut Output, cmd: DnsCommand) -> Status {
    match cmd {
        DnsCommand::Serve(args) => serve(out.json(), &args),
        DnsCommand::ResolvConf { node_ip, cluster_domain, input, output, check } => {
            resolv_conf(out, node_ip, cluster_domain.as_deref(), &input, output.as_deref(), check.as_deref())
        }
        DnsCommand::Zonefile { config } => match load(&config) {
            Ok(zone) => {
                let text = zone.zone_file();
                if out.json() {
                    out.json_line(&json!({ "zone": zone.config().zone(), "zone_file": text }));
                } else {
                    out.text(&text);
                }
                Status::Ok
            }
            Err(status) => status,
        },
        DnsCommand::Health { server, timeout } => {
            health(out, server.unwrap_or_else(served_address), Duration::from_millis(timeout))
        }
        DnsCommand::Query { name, rtype, config, tcp, no_edns } => {
            let zone = match load(&config) {
                Ok(z) => z,
                Err(status) => return status,
            };
            query(out, &zone, &name, &rtype, tcp, !no_edns)
        }
    }
}

/// Reads and builds the zone; errors name the file (and, for TOML, the line and column).
fn load(path: &Path) -> Result<ClusterZone, Status> {
    load_with(path, |_| {})
}

/// [`load`], with `adjust` applied to the configuration before the zone is built.
fn load_with(path: &Path, adjust: impl FnOnce(&mut ZoneConfig)) -> Result<ClusterZone, Status> {
    #[allow(clippy::disallowed_methods)] // The CLI reads the file it is given.
    let text = std::fs::read_to_string(path).map_err(|e| {
        eprintln!("bmnet: {}: {e}", path.display());
        Status::Failure
    })?;
    let mut config = ZoneConfig::from_toml(&text).map_err(|e| {
        match &e {
            ConfigError::Toml { at: Some((line, column)), message } => {
                eprintln!("bmnet: {}:{line}:{column}: {message}", path.display())
            }
            _ => eprintln!("bmnet: {}: {e}", path.display()),
        }
        Status::Problems
    })?;
    adjust(&mut config);
    ClusterZone::new(config).map_err(|e| {
        eprintln!("bmnet: {}: {e}", path.display());
        Status::Problems
    })
}

fn query(out: &mut Output, zone: &ClusterZone, name: &str, rtype: &str, tcp: bool, edns: bool) -> Status {
    let fqdn = if name.ends_with('.') { name.to_string() } else { format!("{name}.") };
    let qname = match Name::from_ascii(&fqdn) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("bmnet: invalid name {name:?}: {e}");
            return Status::Problems;
        }
    };
    let Ok(qtype) = rtype.to_ascii_uppercase().parse::<RecordType>() else {
        eprintln!("bmnet: unknown record type {rtype:?}");
        return Status::Problems;
    };
    let mut q = Message::query();
    q.add_query(Query::query(qname, qtype));
    if edns {
        q.set_edns(Edns::new());
    }
    let bytes = match q.to_vec() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("bmnet: cannot encode the query: {e}");
            return Status::Failure;
        }
    };
    let mut wire = Vec::new();
    let transport = if tcp { Transport::Tcp } else { Transport::Udp };
    match zone.answer_over(&bytes, transport, &mut wire) {
        Outcome::Answered => {}
        Outcome::Forward => {
            if out.json() {
                out.json_line(&json!({ "query": fqdn, "type": qtype.to_string(), "outcome": "forward" }));
            } else {
                out.text(&format!("{fqdn} {qtype}: outside the zone; the server forwards it upstream\n"));
            }
            return Status::Ok;
        }
        Outcome::Drop => {
            eprintln!("bmnet: the server would drop this query");
            return Status::Failure;
        }
    }
    let reply = match Message::from_vec(&wire) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("bmnet: internal error: unreadable answer: {e}");
            return Status::Failure;
        }
    };
    let rcode = match u16::from(reply.metadata.response_code) {
        0 => "NOERROR".to_string(),
        1 => "FORMERR".to_string(),
        2 => "SERVFAIL".to_string(),
        3 => "NXDOMAIN".to_string(),
        4 => "NOTIMP".to_string(),
        5 => "REFUSED".to_string(),
        16 => "BADVERS".to_string(),
        n => format!("RCODE{n}"),
    };
    let rr = |r: &Record| json!({ "name": r.name.to_ascii(), "ttl": r.ttl, "type": r.record_type().to_string(), "data": r.data.to_string() });
    if out.json() {
        out.json_line(&json!({
            "query": fqdn,
            "type": qtype.to_string(),
            "outcome": "answered",
            "rcode": rcode,
            "aa": reply.metadata.authoritative,
            "tc": reply.metadata.truncation,
            "answer": reply.answers.iter().map(rr).collect::<Vec<_>>(),
            "authority": reply.authorities.iter().map(rr).collect::<Vec<_>>(),
            "bytes": wire.len(),
        }));
    } else {
        let mut flags = vec!["qr"];
        if reply.metadata.authoritative {
            flags.push("aa");
        }
        if reply.metadata.truncation {
            flags.push("tc");
        }
        out.text(&format!("status: {rcode}, flags: {}, {} bytes\n", flags.join(" "), wire.len()));
        for (section, records) in [("answer", &reply.answers), ("authority", &reply.authorities)] {
            for r in records.iter() {
                out.text(&format!("{section:<9} {} {} IN {} {}\n", r.name, r.ttl, r.record_type(), r.data));
            }
        }
    }
    Status::Ok
}

/// Sends `query` over UDP to `server` and waits for its answer until `timeout` has passed:
/// the reply from that address with the query's ID (stray datagrams are skipped, and do not
/// extend the wait).
#[allow(clippy::disallowed_methods)] // The CLI asks the node's DNS server over the network.
pub(crate) fn exchange(server: SocketAddr, query: &Message, timeout: Duration) -> Result<Message, String> {
    let bytes = query.to_vec().map_err(|e| e.to_string())?;
    let any: SocketAddr = if server.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let sock = std::net::UdpSocket::bind(any).map_err(|e| e.to_string())?;
    sock.send_to(&bytes, server).map_err(|e| e.to_string())?;
    let deadline = std::time::Instant::now() + timeout;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(format!("no answer from {server} within {} ms", timeout.as_millis()));
        }
        sock.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        let (n, from) = sock.recv_from(&mut buf).map_err(|e| format!("no answer from {server}: {e}"))?;
        let Ok(reply) = Message::from_vec(&buf[..n]) else { continue };
        if from == server && reply.metadata.id == query.metadata.id {
            return Ok(reply);
        }
    }
}

/// Where the `dns serve` of this network namespace listens, by its status file: its first
/// address (a wildcard one as loopback of that family), or 127.0.0.1:53 when none runs.
fn served_address() -> SocketAddr {
    let reading = super::status::read_all::<DnsStatus>();
    let Some(mut addr) = reading.live.first().and_then(|d| d.body.listen.first().copied()) else {
        return SocketAddr::from(([127, 0, 0, 1], 53));
    };
    if addr.ip().is_unspecified() {
        let loopback: std::net::IpAddr =
            if addr.is_ipv4() { std::net::Ipv4Addr::LOCALHOST.into() } else { std::net::Ipv6Addr::LOCALHOST.into() };
        addr.set_ip(loopback);
    }
    addr
}

/// `bmnet dns health`: one CHAOS TXT query for `health.bmnet`.
fn health(out: &mut Output, server: SocketAddr, timeout: Duration) -> Status {
    let mut q = Message::query();
    let mut question = Query::query(Name::from_ascii("health.bmnet.").expect("a valid name"), RecordType::TXT);
    question.set_query_class(hickory_proto::rr::DNSClass::CH);
    q.add_query(question);
    let asked = exchange(server, &q, timeout);
    // Each TXT record as its character-strings, quoted: `"ok" "zone=…" "serial=…"`.
    let texts: Result<Vec<String>, String> = asked.map(|reply| {
        let quoted = |t: &hickory_proto::rr::rdata::TXT| {
            t.txt_data.iter().map(|s| format!("\"{}\"", String::from_utf8_lossy(s))).collect::<Vec<_>>().join(" ")
        };
        reply
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                hickory_proto::rr::RData::TXT(t) => Some(quoted(t)),
                _ => None,
            })
            .collect()
    });
    let ok = texts.as_ref().is_ok_and(|t| t.first().is_some_and(|t| t.starts_with("\"ok\"")));
    if out.json() {
        out.json_line(&json!({ "server": server, "ok": ok, "answer": texts }));
    } else {
        match &texts {
            Ok(t) if ok => out.text(&format!("{server}: {}\n", t.join(" "))),
            Ok(t) => eprintln!("bmnet: {server} answered but not \"ok\": {t:?}"),
            Err(e) => eprintln!("bmnet: {e}"),
        }
    }
    if ok { Status::Ok } else { Status::Problems }
}

/// The zone from --config or from the flags.
fn serve_zone(args: &ServeArgs) -> Result<ClusterZone, Status> {
    if let Some(path) = &args.config {
        return load_with(path, |c| args.apply(c));
    }
    let zone = args.zone.clone().unwrap_or_default();
    let Some((cluster, base)) = zone.trim_end_matches('.').split_once('.') else {
        eprintln!("bmnet: --zone {zone:?}: expected <cluster>.<base domain>");
        return Err(Status::Problems);
    };
    let config = ZoneConfig {
        cluster: cluster.into(),
        base_domain: base.into(),
        api_vips: args.api_vips.clone(),
        api_int_vips: args.api_int_vips.clone(),
        ingress_vips: args.ingress_vips.clone(),
        nodes: args.nodes.iter().cloned().collect::<BTreeMap<_, _>>(),
        ttl: args.ttl,
        soa: Default::default(),
        records: Vec::new(),
        upstreams: args.upstreams.clone(),
        edns_payload: 1232,
        short_names: false,
        allow_recursion: AclEntry::DEFAULT_RECURSION.to_vec(),
        allow_query: AclEntry::DEFAULT_QUERY.to_vec(),
        rate_limit: None,
    };
    let mut config = config;
    args.apply(&mut config);
    ClusterZone::new(config).map_err(|e| {
        eprintln!("bmnet: {e}");
        Status::Problems
    })
}

/// What `bmnet dns serve` puts in its status file for `bmnet inspect`: the zone, where it is
/// served, who may recurse, and what the server's defences turned away.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct DnsStatus {
    pub(crate) zone: String,
    pub(crate) listen: Vec<SocketAddr>,
    #[serde(default)]
    pub(crate) xdp: Vec<String>,
    /// The prefixes whose clients may have other names forwarded.
    #[serde(default)]
    pub(crate) recursion: Vec<bm_addr::ipnet::IpNet>,
    #[serde(default)]
    pub(crate) stats: bm_dns::ServerStats,
}

impl super::status::DaemonStatus for DnsStatus {
    const KIND: super::status::DaemonKind = super::status::DaemonKind::Dns;
}

impl DnsStatus {
    /// What the defences turned away and the forwarder did, as `N what` phrases (non-zero only).
    pub(crate) fn summary(&self) -> Vec<String> {
        let (s, f) = (&self.stats, &self.stats.forwarder);
        let ignored = f.unknown_id + f.wrong_source + f.wrong_question + f.malformed;
        [
            (f.queries, "forwarded"),
            (f.servfail, "SERVFAIL (no upstream answered)"),
            (f.displaced, "forwarded queries displaced by a flood"),
            (ignored, "upstream replies ignored (unknown ID, wrong source or question, malformed)"),
            (f.truncated, "relayed replies cut to the client's size"),
            (s.forward_queue_full, "dropped: forwarder queue full"),
            (s.rrl_slipped, "over the rate limit, sent truncated"),
            (s.rrl_dropped, "over the rate limit, dropped"),
            (s.udp_oversize, "oversize UDP queries dropped"),
            (s.xdp_martians, "XDP packets from impossible sources dropped"),
            (s.tcp_refused_per_client, "TCP connections over a client's limit"),
            (s.tcp_refused_full, "TCP connections refused, all busy"),
            (s.tcp_evicted, "idle TCP connections closed for new ones"),
            (s.tcp_message_timeouts, "TCP connections closed: message too slow"),
            (s.tcp_idle_timeouts, "TCP connections closed: idle"),
            (s.tcp_write_timeouts, "TCP connections closed: answer not taken"),
            (s.tcp_spawn_failures, "TCP connections closed: no thread"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect()
    }
}

/// What the configuration file holds now, to notice a change: its bytes, not its modification
/// time, which two writes within one clock tick of the file system share (a small file, read
/// five times a second).
#[allow(clippy::disallowed_methods)] // The CLI watches the file it is given.
fn contents(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

/// One line of the server's log: text on standard error, or with --json a JSON Lines event on
/// standard output with its time (as `bmnet vrrp run --json` writes transitions).
fn log_serve(json: bool, event: &str, text: &str, fields: serde_json::Value) {
    if json {
        let mut v = json!({ "event": event, "at": super::vrrp::timestamp() });
        if let (Some(v), serde_json::Value::Object(extra)) = (v.as_object_mut(), fields) {
            v.extend(extra);
        }
        println!("{}", super::output::versioned(v));
    } else {
        eprintln!("bmnet: {text}");
    }
}

/// The addresses of a `--listen-file`: one per line, `IP` (port 53) or `IP:PORT`; blank lines
/// and `#` comments skipped; an error names the file and line.
#[allow(clippy::disallowed_methods)] // The CLI reads the file it is given.
fn listen_addresses(file: &Path) -> Result<Vec<SocketAddr>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut addrs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let addr = parse_upstream(line).map_err(|e| format!("{}:{}: {e}", file.display(), n + 1))?;
        addrs.push(addr);
    }
    if addrs.is_empty() {
        return Err(format!("{}: no address in it", file.display()));
    }
    Ok(addrs)
}

#[allow(clippy::disallowed_methods)] // The CLI's own loop: polls signals and the config file.
fn serve(json: bool, args: &ServeArgs) -> Status {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    // Before the zone is read: a change made while it loads is then seen as a change.
    let mut stamp = args.config.as_deref().and_then(contents);
    let zone = match serve_zone(args) {
        Ok(z) => z,
        Err(status) => return status,
    };
    let mut listen = args.listen.clone();
    if let Some(file) = &args.listen_file {
        match listen_addresses(file) {
            Ok(addrs) => listen.extend(addrs),
            Err(e) => {
                eprintln!("bmnet: --listen-file {e}");
                return Status::Failure;
            }
        }
    }
    let mut config = ServerConfig::new(listen);
    if let Some(w) = args.workers {
        config.udp_workers = w;
    }
    config.xdp = args.xdp.clone();
    config.batch_wait = std::time::Duration::from_micros(args.batch_wait);
    config.upstream_timeout = Duration::from_millis(args.upstream_timeout);
    let name = zone.config().zone();
    let server = match Server::start(zone, &config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bmnet: {e}");
            return Status::Failure;
        }
    };
    let addrs: Vec<String> = server.local_addrs().iter().map(ToString::to_string).collect();
    log_serve(
        json,
        "serving",
        &format!("serving {name} on {}", addrs.join(", ")),
        json!({ "zone": name.to_string(), "listen": addrs, "xdp": args.xdp }),
    );
    for w in server.warnings() {
        log_serve(json, "warning", &format!("warning: {w}"), json!({ "warning": w.to_string() }));
    }
    // What `bmnet inspect` shows (and asks): the zone, where it is served, who may recurse,
    // and what the defences turned away; refreshed every second.
    let status = super::status::StatusFile::<DnsStatus>::new();
    let write_status = |handle: &bm_dns::ServerHandle| {
        let body = DnsStatus {
            zone: name.to_string(),
            listen: server.local_addrs().to_vec(),
            xdp: args.xdp.clone(),
            recursion: handle.recursion_allowed().nets().to_vec(),
            stats: handle.stats(),
        };
        status.write(&body);
    };
    write_status(&server.handle());
    let mut signals = match signal_hook::iterator::Signals::new([SIGHUP, SIGINT, SIGTERM]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bmnet: cannot handle signals: {e}");
            server.handle().shutdown();
            server.wait();
            return Status::Failure;
        }
    };
    let handle = server.handle();
    let reload = |why: &str| {
        let Some(path) = &args.config else {
            let text = format!("{why}: nothing to reload (the zone came from flags)");
            log_serve(json, "reload_refused", &text, json!({ "cause": why, "error": "the zone came from flags" }));
            return;
        };
        let config = path.display().to_string();
        match load_with(path, |c| args.apply(c)).map(|z| handle.replace_zone(z)) {
            Ok(Ok(())) => log_serve(
                json,
                "reloaded",
                &format!("{why}: reloaded {config}"),
                json!({ "cause": why, "config": config }),
            ),
            Ok(Err(e)) => {
                let fields = json!({ "cause": why, "config": config, "error": e.to_string() });
                log_serve(json, "reload_refused", &format!("{why}: kept the old zone: {e}"), fields);
            }
            // `load` has said why on standard error.
            Err(_) => log_serve(
                json,
                "reload_refused",
                &format!("{why}: kept the old zone"),
                json!({ "cause": why, "config": config, "error": "the file does not load (see standard error)" }),
            ),
        }
    };
    let mut ticks: u32 = 0;
    'run: loop {
        ticks = ticks.wrapping_add(1);
        if ticks.is_multiple_of(5) {
            write_status(&handle);
        }
        for signal in signals.pending() {
            match signal {
                SIGHUP => reload("SIGHUP"),
                _ => break 'run,
            }
        }
        if let Some(path) = &args.config {
            let now = contents(path);
            if now != stamp {
                stamp = now;
                reload("configuration changed");
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    log_serve(json, "stopping", "stopping", json!({}));
    handle.shutdown();
    server.wait();
    Status::Ok
}

fn resolv_conf(
    out: &mut Output,
    node_ip: Option<IpAddr>,
    cluster_domain: Option<&str>,
    input: &Path,
    output: Option<&Path>,
    check: Option<&Path>,
) -> Status {
    #[allow(clippy::disallowed_methods)] // The CLI reads the file it is given.
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| eprintln!("bmnet: {}: {e}", p.display()));
    if let Some(path) = check {
        let Ok(text) = read(path) else { return Status::Failure };
        let findings = bm_dns::check_resolv_conf(&text, node_ip);
        for f in &findings {
            if out.json() {
                out.json_line(f);
            } else {
                let severity = if f.severity == Severity::Error { "error" } else { "warning" };
                out.text(&format!("{}:{}: {severity}: {}\n", path.display(), f.line, f.message));
            }
        }
        return if findings.iter().any(|f| f.severity == Severity::Error) { Status::Problems } else { Status::Ok };
    }
    let (Some(ip), Some(domain)) = (node_ip, cluster_domain) else { return Status::Failure };
    let Ok(text) = read(input) else { return Status::Failure };
    let rendered = bm_dns::render_resolv_conf(ip, domain, &text);
    match output {
        Some(path) => {
            if let Err(e) = super::write::write_atomically(path, rendered.as_bytes(), 0o644) {
                eprintln!("bmnet: writing {}: {e}", path.display());
                return Status::Failure;
            }
            if out.json() {
                out.json_line(&json!({ "written": path.display().to_string() }));
            }
        }
        None if out.json() => out.json_line(&json!({ "resolv_conf": rendered })),
        None => out.text(&rendered),
    }
    Status::Ok
}
