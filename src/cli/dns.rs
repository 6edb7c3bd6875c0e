//! `bmnet dns`: the cluster zone offline — its zone file, and answers to single queries.

use std::path::{Path, PathBuf};

use bmnet::dns::{ClusterZone, Outcome, Transport, ZoneConfig};
use clap::Subcommand;
use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{Name, Record, RecordType};
use serde_json::json;

use super::Status;
use super::output::Output;

#[derive(Subcommand, Debug)]
pub(crate) enum DnsCommand {
    /// Print the cluster zone as an RFC 1035 zone file (for NSD, Knot or BIND).
    Zonefile {
        /// The zone's configuration (TOML).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
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

pub(crate) fn run(out: &mut Output, cmd: DnsCommand) -> Status {
    match cmd {
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
    #[allow(clippy::disallowed_methods)] // The CLI reads the file it is given.
    let text = std::fs::read_to_string(path).map_err(|e| {
        eprintln!("bmnet: {}: {e}", path.display());
        Status::Failure
    })?;
    ZoneConfig::from_toml(&text).and_then(ClusterZone::new).map_err(|e| {
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
