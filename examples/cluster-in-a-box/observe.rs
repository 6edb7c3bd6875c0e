//! Watching the cluster: who holds the VIPs and the client's neighbour entry, or in L3 mode
//! the router's FIB (`ip -j`), the client's HTTP and DNS probes, and the VRRP daemons' logs,
//! as timeline events.

use super::*;

impl Cluster {
    /// Polls every node's addresses (`ip -j addr`) and the client's neighbour entry for the API
    /// VIP (which node's MAC the client sends to), or in L3 mode the router's next hops for
    /// each VIP (`ip -j route`), every 40 ms, recording every change.
    pub(super) fn start_watcher(&mut self) {
        let stop = Arc::new(AtomicBool::new(false));
        let nodes: Vec<(String, String)> = self.nodes.iter().map(|n| (n.name.clone(), n.ns.clone())).collect();
        let macs: BTreeMap<String, String> = self
            .nodes
            .iter()
            .filter_map(|n| {
                let o = Command::new("ip").args(["-j", "-n", &n.ns, "link", "show", "eth0"]).output().ok()?;
                let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
                Some((v[0]["address"].as_str()?.to_string(), n.name.clone()))
            })
            .collect();
        let client = self.client_ns.clone();
        let router = self.router.clone();
        let node_ips: Vec<String> = self.nodes.iter().map(|n| n.ip.clone()).collect();
        let holders = Arc::clone(&self.holders);
        let events = Arc::clone(&self.events);
        let t0 = self.t0_unix;
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut prev: Vec<(bool, bool)> = vec![(false, false); nodes.len()];
            let mut prev_fib = prev.clone();
            let mut prev_arp = String::new();
            let mut prev_read = 0;
            while !flag.load(Ordering::SeqCst) {
                let arp = if router.is_some() {
                    String::new()
                } else {
                    Command::new("ip")
                        .args(["-j", "-n", &client, "neigh", "show", API_VIP])
                        .output()
                        .ok()
                        .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
                        .and_then(|v| v[0]["lladdr"].as_str().map(str::to_string))
                        .map_or_else(String::new, |mac| macs.get(&mac).cloned().unwrap_or(mac))
                };
                let read_from = unix_ms() - t0;
                let fib: Vec<(bool, bool)> = match &router {
                    Some(r) => {
                        let (api, ingress) = (r.next_hops(API_VIP), r.next_hops(INGRESS_VIP));
                        node_ips.iter().map(|ip| (api.contains(ip), ingress.contains(ip))).collect()
                    }
                    None => prev_fib.clone(),
                };
                let read_to = unix_ms() - t0;
                let mut now = Vec::with_capacity(nodes.len());
                for (_, ns) in &nodes {
                    let o = Command::new("ip").args(["-j", "-n", ns, "addr", "show"]).output();
                    let v: serde_json::Value =
                        o.ok().and_then(|o| serde_json::from_slice(&o.stdout).ok()).unwrap_or(serde_json::Value::Null);
                    let has = |addr: &str| {
                        v.as_array().into_iter().flatten().any(|l| {
                            l["addr_info"].as_array().into_iter().flatten().any(|a| a["local"].as_str() == Some(addr))
                        })
                    };
                    now.push((has(API_VIP), has(INGRESS_VIP)));
                }
                let t = unix_ms() - t0;
                let mut log = events.lock().unwrap_or_else(|p| p.into_inner());
                if arp != prev_arp {
                    let detail =
                        format!("the client sends {API_VIP} to {}", if arp.is_empty() { "nobody" } else { &arp });
                    log.push(Event { t_ms: t, kind: "arp".into(), node: arp.clone(), ok: None, detail, ms: None });
                    prev_arp = arp;
                }
                for (kind, before, after) in [("vip", &prev, &now), ("fib", &prev_fib, &fib)] {
                    for ((name, _), (p, c)) in nodes.iter().zip(before.iter().zip(after)) {
                        for (was, is, vip) in [(p.0, c.0, API_VIP), (p.1, c.1, INGRESS_VIP)] {
                            if was != is {
                                let detail = format!("{}{vip}", if is { "+" } else { "-" });
                                log.push(Event {
                                    t_ms: t,
                                    kind: kind.into(),
                                    node: name.clone(),
                                    ok: None,
                                    detail,
                                    ms: None,
                                });
                            }
                        }
                    }
                }
                drop(log);
                {
                    let mut h = holders.lock().unwrap_or_else(|p| p.into_inner());
                    h.held.clone_from(&now);
                    if fib != prev_fib {
                        h.fib_changed = Some((prev_read, read_to));
                    }
                    h.fib.clone_from(&fib);
                    h.rounds += 1;
                }
                prev = now;
                prev_fib = fib;
                prev_read = read_from;
                std::thread::sleep(Duration::from_millis(40));
            }
        });
        self.watcher = Some(Watcher { stop, handle: Some(handle) });
    }

    /// L3 mode: the bounds of the FIB's last change the watcher saw (see [`Holders`]).
    pub(super) fn fib_changed(&self) -> Option<(i64, i64)> {
        self.holders.lock().unwrap_or_else(|p| p.into_inner()).fib_changed
    }

    /// The live nodes holding the API VIP and the ingress VIP, after a fresh watcher round.
    pub(super) fn holders(&self) -> Result<HolderSets, String> {
        self.observed(false)
    }

    /// L3 mode: the nodes the router's FIB has as next hops of the API VIP and of the ingress
    /// VIP, after a fresh watcher round.
    pub(super) fn fib(&self) -> Result<HolderSets, String> {
        self.observed(true)
    }

    fn observed(&self, fib: bool) -> Result<HolderSets, String> {
        let round = self.holders.lock().unwrap_or_else(|p| p.into_inner()).rounds;
        let start = Instant::now();
        loop {
            let h = self.holders.lock().unwrap_or_else(|p| p.into_inner());
            if h.rounds > round {
                let seen = if fib { &h.fib } else { &h.held };
                // A dead node's addresses no longer count; the router's FIB says what it says.
                let pick = |f: fn(&(bool, bool)) -> bool| {
                    self.nodes
                        .iter()
                        .zip(seen)
                        .filter(|(n, held)| (fib || !n.dead) && f(held))
                        .map(|(n, _)| n.name.clone())
                        .collect::<Vec<_>>()
                };
                return Ok((pick(|h| h.0), pick(|h| h.1)));
            }
            drop(h);
            if start.elapsed() > Duration::from_secs(5) {
                return Err("the VIP watcher stopped".into());
            }
            self.check_stop()?;
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub(super) fn api_holder(&self) -> Result<Vec<String>, String> {
        Ok(self.holders()?.0)
    }

    pub(super) fn start_prober(&mut self) -> Result<(), String> {
        let script = self.dir.join("probe.py");
        write(&script, PROBE_PY)?;
        // In L3 mode the nodes serve no DNS: HTTP only.
        let servers: Vec<String> =
            if self.router.is_some() { Vec::new() } else { self.nodes.iter().map(|n| n.ip.clone()).collect() };
        let (script_s, port, servers_s) = (script.display().to_string(), API_LB_PORT.to_string(), servers.join(","));
        let p = self.spawn(None, "probe", &["python3", "-u", &script_s, API_VIP, &port, ZONE, &servers_s], None)?;
        self.probe_out = Some(p.out.clone());
        self.prober = Some(p);
        let dns = if servers.is_empty() {
            String::new()
        } else {
            format!(" and api.{ZONE} on every node's DNS every 250 ms")
        };
        self.say(&format!("client: probing http://{API_VIP}:{API_LB_PORT}/ every 50 ms{dns}"));
        Ok(())
    }

    /// The client's probes so far (`t_ms` since the start).
    pub(super) fn probes(&self) -> Vec<Event> {
        let Some(out) = &self.probe_out else { return Vec::new() };
        let text = std::fs::read_to_string(out).unwrap_or_default();
        let by_ip: BTreeMap<&str, &str> = self.nodes.iter().map(|n| (n.ip.as_str(), n.name.as_str())).collect();
        let mut out: Vec<Event> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| Event {
                t_ms: v["t"].as_i64().unwrap_or(0) - self.t0_unix,
                kind: v["kind"].as_str().unwrap_or("?").to_string(),
                node: v["node"].as_str().map(|ip| by_ip.get(ip).copied().unwrap_or(ip).to_string()).unwrap_or_default(),
                ok: v["ok"].as_bool(),
                detail: match v["ms"].as_f64() {
                    Some(ms) => format!("{} ({ms} ms)", v["detail"].as_str().unwrap_or("")),
                    None => v["detail"].as_str().unwrap_or("").to_string(),
                },
                ms: v["ms"].as_f64(),
            })
            .collect();
        out.sort_by_key(|e| e.t_ms);
        out
    }

    /// HTTP probes sent in `[from, to]`: failed, total, and the longest run of failures in ms
    /// (from the first failed probe to the next successful one).
    pub(super) fn http_window(&self, from: i64, to: i64) -> (usize, usize, u64) {
        let probes: Vec<Event> =
            self.probes().into_iter().filter(|e| e.kind == "http" && e.t_ms >= from && e.t_ms <= to).collect();
        let failed = probes.iter().filter(|e| e.ok != Some(true)).count();
        let mut longest = 0;
        let mut run_start: Option<i64> = None;
        for e in &probes {
            match (e.ok == Some(true), run_start) {
                (false, None) => run_start = Some(e.t_ms),
                (true, Some(s)) => {
                    longest = longest.max((e.t_ms - s) as u64);
                    run_start = None;
                }
                _ => {}
            }
        }
        if let (Some(s), Some(last)) = (run_start, probes.last()) {
            longest = longest.max((last.t_ms - s + 50) as u64);
        }
        (failed, probes.len(), longest)
    }

    /// The JSON Lines the nodes' `label` daemons (`vrrp`, `bgp`) logged, each with its node
    /// and its time (`at`) in ms since the start, in each log's order.
    pub(super) fn json_logs(&self, label: &str) -> Vec<(String, i64, serde_json::Value)> {
        let mut out = Vec::new();
        for n in &self.nodes {
            for p in n.logs(label) {
                let text = std::fs::read_to_string(&p.out).unwrap_or_default();
                for v in text.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()) {
                    let Some(at) = v["at"].as_str().and_then(parse_rfc3339_ms) else { continue };
                    out.push((n.name.clone(), at - self.t0_unix, v));
                }
            }
        }
        out
    }

    pub(super) fn vrrp_events(&self) -> Vec<Event> {
        self.json_logs("vrrp")
            .into_iter()
            .map(|(node, t_ms, v)| Event {
                t_ms,
                kind: "vrrp".into(),
                node,
                ok: None,
                detail: format!(
                    "{} -> {} ({}), priority {}",
                    v["from"].as_str().unwrap_or("?").to_uppercase(),
                    v["to"].as_str().unwrap_or("?").to_uppercase(),
                    v["reason"].as_str().unwrap_or(""),
                    v["priority"]
                ),
                ms: None,
            })
            .collect()
    }
}
