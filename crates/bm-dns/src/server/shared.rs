//! What every thread of a server shares: what is served (zone, access rules, rate limiter;
//! replaced whole on reload), the stop flag, the queue to the forwarder, and the counters.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::error::ServerError;
use super::queue::Inbox;
use crate::access::{Access, AccessList};
use crate::dispatch::Responder;
use crate::forward::ForwarderStats;
use crate::rrl::{self, AnswerKind, RateLimiter, Verdict};
use crate::zone::ClusterZone;

/// What the workers answer with; replaced whole on reload.
#[derive(Debug)]
pub(crate) struct Served {
    pub(crate) responder: Responder,
    pub(crate) rrl: Option<Arc<RateLimiter>>,
}

/// Counters of what the server's defences turned away, by reason.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) udp_oversize: AtomicU64,
    pub(crate) rrl_slipped: AtomicU64,
    pub(crate) rrl_dropped: AtomicU64,
    pub(crate) forward_queue_full: AtomicU64,
    pub(crate) xdp_martians: AtomicU64,
    pub(crate) tcp_refused_per_client: AtomicU64,
    pub(crate) tcp_refused_full: AtomicU64,
    pub(crate) tcp_evicted: AtomicU64,
    pub(crate) tcp_message_timeouts: AtomicU64,
    pub(crate) tcp_idle_timeouts: AtomicU64,
    pub(crate) tcp_write_timeouts: AtomicU64,
    pub(crate) tcp_spawn_failures: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// A snapshot of a server's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerStats {
    /// The forwarders' counters, summed.
    pub forwarder: ForwarderStats,
    /// UDP queries longer than the server takes (dropped).
    pub udp_oversize: u64,
    /// Answers over the rate limit sent truncated.
    pub rrl_slipped: u64,
    /// Answers over the rate limit dropped.
    pub rrl_dropped: u64,
    /// Queries to forward dropped because the forwarder's queue was full.
    pub forward_queue_full: u64,
    /// Packets the XDP path dropped for an impossible source address.
    pub xdp_martians: u64,
    /// TCP connections refused: the client had as many open as it may.
    pub tcp_refused_per_client: u64,
    /// TCP connections refused: every slot busy with a query.
    pub tcp_refused_full: u64,
    /// TCP connections closed to make room for a new one (the longest idle).
    pub tcp_evicted: u64,
    /// TCP connections closed: a message not complete within its deadline.
    pub tcp_message_timeouts: u64,
    /// TCP connections closed: idle too long between messages.
    pub tcp_idle_timeouts: u64,
    /// TCP connections closed: an answer not taken within the write deadline.
    pub tcp_write_timeouts: u64,
    /// TCP connections closed because no thread could be started for them.
    pub tcp_spawn_failures: u64,
}

/// The state of a running server.
#[derive(Debug)]
pub(crate) struct Shared {
    served: RwLock<Arc<Served>>,
    stop: AtomicBool,
    /// The bound addresses.
    pub(crate) listen: Vec<SocketAddr>,
    /// The on-link subnets of the listening addresses (`localnets`).
    pub(crate) localnets: Vec<IpNet>,
    /// Where the rate limiter's seconds count from.
    pub(crate) start: Instant,
    pub(crate) counters: Counters,
    pub(crate) inbox: Inbox,
    /// Each forwarder's counters (one per UDP worker, one for TCP and XDP).
    forwarders: Mutex<Vec<ForwarderStats>>,
}

impl Shared {
    pub(crate) fn new(
        zone: ClusterZone,
        listen: Vec<SocketAddr>,
        localnets: Vec<IpNet>,
        inbox: Inbox,
        forwarders: usize,
    ) -> Shared {
        let start = Instant::now();
        let served = serve(zone, &localnets, None, start);
        Shared {
            served: RwLock::new(Arc::new(served)),
            stop: AtomicBool::new(false),
            listen,
            localnets,
            start,
            counters: Counters::default(),
            inbox,
            forwarders: Mutex::new(vec![ForwarderStats::default(); forwarders]),
        }
    }

    pub(crate) fn served(&self) -> Arc<Served> {
        self.served.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Records forwarder number `slot`'s counters.
    pub(crate) fn report_forwarder(&self, slot: usize, stats: ForwarderStats) {
        if let Some(s) = self.forwarders.lock().unwrap_or_else(|e| e.into_inner()).get_mut(slot) {
            *s = stats;
        }
    }
}

/// The zone with its access rules resolved against `localnets`, and a rate limiter: the one in
/// use when its settings did not change (its counts go on), else a new one.
fn serve(zone: ClusterZone, localnets: &[IpNet], current: Option<&Served>, start: Instant) -> Served {
    let config = zone.config();
    let access = Access::resolve(&config.allow_recursion, &config.allow_query, localnets);
    let rrl = config.rate_limit.map(|settings| match current.and_then(|c| c.rrl.clone()) {
        Some(rrl) if rrl.config() == settings => rrl,
        _ => Arc::new(RateLimiter::new(settings, start, bm_sys::random::seed())),
    });
    Served { responder: Responder::new(zone, access), rrl }
}

/// Controls a running server from other threads.
#[derive(Clone, Debug)]
pub struct ServerHandle {
    pub(crate) shared: Arc<Shared>,
}

impl ServerHandle {
    /// Serves `zone` (with the access rules and rate limit of its configuration) from the next
    /// query on; queries being answered finish with the old one. Refused (and the old zone
    /// kept) when one of its upstreams would loop.
    pub fn replace_zone(&self, zone: ClusterZone) -> Result<(), ServerError> {
        check_loops(&zone, &self.shared.listen)?;
        let mut current = self.shared.served.write().unwrap_or_else(|e| e.into_inner());
        *current = Arc::new(serve(zone, &self.shared.localnets, Some(&current), self.shared.start));
        Ok(())
    }

    /// Asks every thread to finish; [`super::Server::wait`] returns once they have.
    pub fn shutdown(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.inbox.wake();
    }

    /// The counters so far.
    pub fn stats(&self) -> ServerStats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ServerStats {
            forwarder: self.shared.forwarders.lock().unwrap_or_else(|e| e.into_inner()).iter().fold(
                ForwarderStats::default(),
                |mut total, s| {
                    total += *s;
                    total
                },
            ),
            udp_oversize: get(&c.udp_oversize),
            rrl_slipped: get(&c.rrl_slipped),
            rrl_dropped: get(&c.rrl_dropped),
            forward_queue_full: get(&c.forward_queue_full),
            xdp_martians: get(&c.xdp_martians),
            tcp_refused_per_client: get(&c.tcp_refused_per_client),
            tcp_refused_full: get(&c.tcp_refused_full),
            tcp_evicted: get(&c.tcp_evicted),
            tcp_message_timeouts: get(&c.tcp_message_timeouts),
            tcp_idle_timeouts: get(&c.tcp_idle_timeouts),
            tcp_write_timeouts: get(&c.tcp_write_timeouts),
            tcp_spawn_failures: get(&c.tcp_spawn_failures),
        }
    }

    /// The prefixes whose clients may have names outside the zone forwarded, as now resolved.
    pub fn recursion_allowed(&self) -> AccessList {
        self.shared.served().responder.access().recursion.clone()
    }

    /// Whether `client` may have names outside the zone forwarded.
    pub fn may_recurse(&self, client: IpAddr) -> bool {
        self.shared.served().responder.access().recursion.allows(client)
    }
}

/// Refuses upstreams that are this server: one of its addresses (also written IPv4-mapped), a
/// loopback address on its port when it listens on a wildcard, or systemd-resolved's stub
/// `127.0.0.53`, which forwards to the node's resolv.conf — which points here.
pub(crate) fn check_loops(zone: &ClusterZone, listen: &[SocketAddr]) -> Result<(), ServerError> {
    for &upstream in &zone.upstreams {
        let ip = bm_addr::unmap(upstream.ip());
        if ip == IpAddr::V4(Ipv4Addr::new(127, 0, 0, 53)) {
            return Err(ServerError::Loop {
                upstream,
                why: "127.0.0.53 is systemd-resolved's stub, which forwards back here",
            });
        }
        for l in listen {
            let same_port = l.port() == upstream.port();
            let mine =
                bm_addr::unmap(l.ip()) == ip || (l.ip().is_unspecified() && (ip.is_loopback() || ip.is_unspecified()));
            if same_port && mine {
                return Err(ServerError::Loop { upstream, why: "it is an address this server listens on" });
            }
        }
    }
    Ok(())
}

/// Applies the rate limit, if any, to the answer `out` for `client`: whether to send it (cut
/// to its question when it slips).
pub(crate) fn limit(
    served: &Served,
    now: Option<Instant>,
    client: IpAddr,
    out: &mut Vec<u8>,
    counters: &Counters,
) -> bool {
    let (Some(rrl), Some(now)) = (&served.rrl, now) else { return true };
    match rrl.check(now, client, AnswerKind::of(out)) {
        Verdict::Send => true,
        Verdict::Slip => {
            rrl::slip(out);
            Counters::add(&counters.rrl_slipped, 1);
            true
        }
        Verdict::Drop => {
            Counters::add(&counters.rrl_dropped, 1);
            false
        }
    }
}
