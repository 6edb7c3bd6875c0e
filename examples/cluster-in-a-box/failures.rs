//! What the scenario checks and breaks: convergence, DNS from every node, `bmnet inspect`, HTTP
//! through the VIP, and the backend, HAProxy and node kills with what the client saw.

use super::*;

impl Cluster {
    pub(super) fn converge(&self, report: &mut Report) -> Result<(), String> {
        let start = Instant::now();
        let stable_for = Duration::from_secs_f64(SCRIPT_INTERVAL * 4.0) + master_down_interval(self.opts.advert, 1);
        let mut since: Option<(Instant, HolderSets)> = None;
        loop {
            let h = self.holders()?;
            let single = h.0.len() == 1 && h.1.len() == 1;
            match &since {
                Some((at, prev)) if *prev == h && single => {
                    if at.elapsed() >= stable_for {
                        break;
                    }
                }
                _ => since = single.then(|| (Instant::now(), h.clone())),
            }
            if start.elapsed() > Duration::from_secs(30) {
                let logs = self.vrrp_logs();
                return Err(format!(
                    "no single stable holder of each VIP after 30 s (API {:?}, ingress {:?})\n{logs}",
                    h.0, h.1
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let (api, ingress) = self.holders()?;
        report.api_holder = api[0].clone();
        report.ingress_holder = ingress[0].clone();
        let took = start.elapsed().saturating_sub(stable_for);
        report.converge_ms = took.as_millis() as u64;
        self.say(&format!(
            "check: the API VIP {API_VIP} is on exactly one node ({}), the ingress VIP {INGRESS_VIP} on exactly one \
             worker ({}) (`ip -j addr` on every node), stable for {:.1} s; elected {:.2} s after the daemons started",
            report.api_holder,
            report.ingress_holder,
            stable_for.as_secs_f64(),
            took.as_secs_f64()
        ));
        if self.node(&report.api_holder).role != Role::Master || self.node(&report.ingress_holder).role != Role::Worker
        {
            return Err("a VIP is held by a node of the wrong role".into());
        }
        Ok(())
    }

    /// `dig` from every live node, at the first name server of its own resolv.conf: the API,
    /// API-internal and an apps name answer the VIPs, every node's name its IP.
    pub(super) fn check_dns(&self, when: &str) -> Result<usize, String> {
        let start = Instant::now();
        let mut checked = 0;
        let mut names: Vec<(String, String)> = vec![
            (format!("api.{ZONE}"), API_VIP.into()),
            (format!("api-int.{ZONE}"), API_VIP.into()),
            (format!("console-openshift-console.apps.{ZONE}"), INGRESS_VIP.into()),
        ];
        names.extend(self.nodes.iter().map(|n| (format!("{}.{ZONE}", n.name), n.ip.clone())));
        for n in self.nodes.iter().filter(|n| !n.dead) {
            let server = read(&n.root.join("etc/resolv.conf"))?
                .lines()
                .find_map(|l| l.strip_prefix("nameserver ").map(|s| s.trim().to_string()))
                .unwrap_or_default();
            let at = format!("@{server}");
            for (name, want) in &names {
                let o = self.exec(&n.ns, &["dig", "+short", "+time=1", "+tries=2", &at, name, "A"])?;
                let got = String::from_utf8_lossy(&o.stdout).trim().to_string();
                if got != *want {
                    return Err(format!("{}: dig {at} {name} answered {got:?}, want {want} ({when})", n.name));
                }
                checked += 1;
            }
        }
        self.say(&format!(
            "check ({when}): `dig api.{ZONE}` (and api-int, *.apps, every node name) from every live node at its \
             resolv.conf's name server: {checked} answers right in {:.2} s",
            start.elapsed().as_secs_f64()
        ));
        Ok(checked)
    }

    /// `bmnet inspect` inside a node, seeing the node's keyfiles (bind-mounted over
    /// /etc/NetworkManager/system-connections in the mount namespace `ip netns exec` makes for
    /// this one command; the host's are untouched) and its daemons' status files.
    pub(super) fn inspect(&self, node: &str) -> Result<String, String> {
        let n = self.node(node);
        let conns = n.root.join("etc/NetworkManager/system-connections");
        let status = n.root.join("run/bmnet");
        let (conns_s, status_s, bmnet) = (conns.display().to_string(), status.display().to_string(), self.bmnet_path());
        let script = "mount --bind \"$1\" \"$2\" || exit 3; BMNET_STATUS_DIR=\"$3\" exec \"$4\" inspect";
        let o = self.exec(&n.ns, &["sh", "-c", script, "sh", &conns_s, NM_KEYFILES, &status_s, &bmnet])?;
        if !o.status.success() {
            return Err(format!("{node}: bmnet inspect failed ({}): {}", o.status, text(&o)));
        }
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let api = format!("api.{ZONE} A: {API_VIP}");
        // keepalived writes no bmnet status file: the VRRP state, and the node IP taken from its
        // VIP subnets (the one `bmnet node-ip set` chose), show only under bmnet vrrp run.
        let node_ip = format!("--node-ip={}\n", n.ip);
        let (vrrp, node_ip) =
            if self.opts.keepalived { (None, None) } else { (Some("MASTER"), Some(node_ip.as_str())) };
        for want in [Some(n.ip.as_str()), Some(API_VIP), vrrp, node_ip, Some("bond0.nmconnection"), Some(api.as_str())]
            .into_iter()
            .flatten()
        {
            if !out.contains(want) {
                return Err(format!("{node}: bmnet inspect does not show {want:?}:\n{out}"));
            }
        }
        self.say(&format!(
            "check: `bmnet inspect` on {node} shows its addresses, node IP, keyfiles, {}DNS answers:\n{}",
            if vrrp.is_some() { "VRRP state and " } else { "" },
            out.lines().map(|l| format!("           | {l}")).collect::<Vec<_>>().join("\n")
        ));
        Ok(out)
    }

    pub(super) fn curl_client(&self, url: &str) -> Result<String, String> {
        let o = self.exec(&self.client_ns, &["curl", "-fs", "--max-time", "1", url])?;
        if o.status.success() {
            Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
        } else {
            Err(format!("curl {url} from the client failed: {}", text(&o)))
        }
    }

    /// Retries `url` from the client until it answers (at most `timeout`); returns the body and
    /// how long it took.
    pub(super) fn curl_until(&self, url: &str, timeout: Duration) -> Result<(String, Duration), String> {
        let start = Instant::now();
        loop {
            match self.curl_client(url) {
                Ok(body) => return Ok((body, start.elapsed())),
                Err(e) if start.elapsed() > timeout => return Err(format!("{e} (for {timeout:?})")),
                Err(_) => self.sleep(Duration::from_millis(50))?,
            }
        }
    }

    /// Who answers `url` (the last word of each body) from the client, over at most `tries`
    /// requests, stopping once `want` have; and how many requests that took.
    pub(super) fn answering(&self, url: &str, tries: usize, want: usize) -> Result<(BTreeSet<String>, usize), String> {
        let mut seen = BTreeSet::new();
        for n in 1..=tries {
            let body = self.curl_client(url)?;
            seen.insert(body.rsplit(' ').next().unwrap_or_default().to_string());
            if seen.len() >= want {
                return Ok((seen, n));
            }
        }
        Ok((seen, tries))
    }

    pub(super) fn check_http(&self, report: &mut Report) -> Result<(), String> {
        let url = format!("http://{API_VIP}:{API_LB_PORT}/");
        let (seen, requests) = self.answering(&url, 6, 3)?;
        report.backends_seen = seen;
        if report.backends_seen.len() != 3 {
            return Err(format!(
                "{requests} requests through HAProxy reached {:?}, not all three API servers",
                report.backends_seen
            ));
        }
        let router = self.curl_client(&format!("http://{INGRESS_VIP}/"))?;
        if !router.ends_with(&report.ingress_holder) {
            return Err(format!("the ingress VIP answered {router:?}, not the holder {}", report.ingress_holder));
        }
        self.say(&format!(
            "check: {requests} HTTP requests from the client to {url} went through HAProxy on {} to {:?}; \
             http://{INGRESS_VIP}/ answered {router:?}",
            report.api_holder, report.backends_seen
        ));
        Ok(())
    }

    pub(super) fn kill_proc(&mut self, node: &str, which: &'static str) -> Result<i64, String> {
        let i = self.idx(node);
        let mut p = self.nodes[i].procs.remove(which).ok_or(format!("{node} runs no {which}"))?;
        p.kill();
        let t = self.ms_since_start(unix_ms());
        self.nodes[i].old.push(p);
        Ok(t)
    }

    pub(super) fn wait_api_move(
        &self,
        from: &str,
        started: Instant,
        timeout: Duration,
    ) -> Result<(String, Duration), String> {
        loop {
            let h = self.api_holder()?;
            if h.len() == 1 && h[0] != from {
                return Ok((h[0].clone(), started.elapsed()));
            }
            if started.elapsed() > timeout {
                let logs = self.vrrp_logs();
                return Err(format!(
                    "the API VIP did not move off {from} within {timeout:?} (live holders {h:?})\n{logs}"
                ));
            }
        }
    }

    pub(super) fn backend_kill(&mut self, report: &mut Report) -> Result<(), String> {
        let holder = report.api_holder.clone();
        let window = Duration::from_secs_f64(SCRIPT_INTERVAL * f64::from(API_FALL + 2))
            + master_down_interval(self.opts.advert, 1)
            + Duration::from_secs(1);
        self.step(
            &holder,
            &format!("kill the API server stand-in on the VIP holder {holder}"),
            &format!("kill API server on {holder}"),
        );
        let t = self.kill_proc(&holder, "apiserver")?;
        let start = Instant::now();
        while start.elapsed() < window {
            let h = self.api_holder()?;
            if h != [holder.clone()] {
                return Err(format!("the API VIP moved (holders {h:?}) when only {holder}'s API server died"));
            }
            self.sleep(Duration::from_millis(50))?;
        }
        let (failed, total, _) = self.http_window(t, t + window.as_millis() as i64);
        report.backend_kill_holder_after = holder.clone();
        report.backend_kill_http = (failed, total);
        self.say(&format!(
            "check: the API VIP stayed on {holder} for {:.1} s (longer than {API_FALL} failed checks + \
             Master_Down_Interval): HAProxy still answers, chk_ocp_lb passes; client HTTP probes: {failed} of {total} \
             failed (HAProxy redispatches to the other API servers)",
            window.as_secs_f64()
        ));
        let i = self.idx(&holder);
        self.start_backend(i)?;
        self.step(&holder, &format!("restart the API server stand-in on {holder}"), "restart it");
        Ok(())
    }

    pub(super) fn haproxy_kill(&mut self, report: &mut Report) -> Result<(), String> {
        let holder = self.api_holder()?.first().cloned().ok_or("nobody holds the API VIP")?;
        self.step(&holder, &format!("kill HAProxy on the VIP holder {holder}"), &format!("kill HAProxy on {holder}"));
        let started = Instant::now();
        let t = self.kill_proc(&holder, "haproxy")?;
        let (to, took) = self.wait_api_move(&holder, started, Duration::from_secs(15))?;
        // The last passing run was up to one interval before the kill.
        let mdi = master_down_interval(self.opts.advert, api_priority_max());
        let expect = (
            Duration::from_secs_f64(SCRIPT_INTERVAL * f64::from(API_FALL - 1)) + mdi,
            Duration::from_secs_f64(SCRIPT_INTERVAL * f64::from(API_FALL)) + mdi,
        );
        self.say(&format!(
            "check: the API VIP moved {holder} -> {to} in {:.3} s after HAProxy died (chk_ocp_lb fails {API_FALL} \
             times every {SCRIPT_INTERVAL} s, priority {} -> {}, then a backup at {} preempts after Master_Down_Interval: \
             {:.2} to {:.2} s expected)",
            took.as_secs_f64(),
            api_priority_max(),
            api_priority_max() - CHK_OCP_LB_WEIGHT,
            api_priority_max(),
            expect.0.as_secs_f64(),
            expect.1.as_secs_f64()
        ));
        let (body, again) = self.curl_until(&format!("http://{API_VIP}:{API_LB_PORT}/"), Duration::from_secs(10))?;
        self.say(&format!("check: HTTP through the VIP works again: {body:?} ({:.2} s later)", again.as_secs_f64()));
        self.sleep(Duration::from_millis(500))?;
        let (_, _, outage) = self.http_window(t, self.ms_since_start(unix_ms()));
        report.haproxy_kill = (holder.clone(), to, took.as_millis() as u64);
        report.haproxy_kill_outage_ms = outage;
        let (vip_at, arp_at) = self.arrival(&report.haproxy_kill.1, t);
        report.haproxy_kill_arp_ms = arp_at.zip(vip_at).map(|(a, v)| (a - v).max(0) as u64);
        self.say(&format!(
            "client: the longest HTTP outage while the VIP moved: {outage} ms; its ARP entry followed the VIP {}",
            arp_delay(report.haproxy_kill_arp_ms)
        ));
        let i = self.idx(&holder);
        self.start_haproxy(i)?;
        self.step(&holder, &format!("restart HAProxy on {holder}"), "restart it");
        // Its checks pass again after `rise` runs; equal priorities do not preempt.
        self.sleep(Duration::from_secs_f64(SCRIPT_INTERVAL * 4.0))?;
        Ok(())
    }

    pub(super) fn node_kill(&mut self, report: &mut Report) -> Result<(), String> {
        let holder = self.api_holder()?.first().cloned().ok_or("nobody holds the API VIP")?;
        let i = self.idx(&holder);
        self.step(
            &holder,
            &format!("kill node {holder}: both links down (nothing it sends gets out), every process SIGKILLed"),
            &format!("kill node {holder}"),
        );
        let started = Instant::now();
        let t_unix = self.kill_node(i, &["eth0", "eth1"])?;
        let (to, took) = self.wait_api_move(&holder, started, Duration::from_secs(15))?;
        let bound = master_down_interval(self.opts.advert, api_priority_max());
        // The new holder's own log of its transition.
        let vrrp_ms = self
            .vrrp_events()
            .into_iter()
            .filter(|e| e.node == to && e.detail.starts_with("BACKUP -> MASTER") && e.t_ms + self.t0_unix >= t_unix)
            .map(|e| (e.t_ms + self.t0_unix - t_unix) as u64)
            .min();
        report.node_kill = (holder.clone(), to.clone(), took.as_millis() as u64);
        report.node_kill_vrrp_ms = vrrp_ms;
        report.node_kill_bound_ms = bound.as_millis() as u64;
        self.say(&format!(
            "check: the API VIP moved {holder} -> {to}: seen with `ip -j addr` {:.3} s after the kill, {to} logged \
             BACKUP -> MASTER after {}; the VRRP bound (Master_Down_Interval = 3 x {} s + skew at priority {}) is \
             {:.3} s",
            took.as_secs_f64(),
            vrrp_ms.map_or("?".into(), |ms| format!("{:.3} s", ms as f64 / 1000.0)),
            self.opts.advert,
            api_priority_max(),
            bound.as_secs_f64()
        ));
        let (body, again) = self.curl_until(&format!("http://{API_VIP}:{API_LB_PORT}/"), Duration::from_secs(10))?;
        self.say(&format!(
            "check: HTTP through the VIP works after the node died: {body:?} ({:.2} s later)",
            again.as_secs_f64()
        ));
        self.sleep(Duration::from_millis(500))?;
        let from = t_unix - self.t0_unix;
        let (_, _, outage) = self.http_window(from, self.ms_since_start(unix_ms()));
        report.node_kill_outage_ms = outage;
        let (vip_at, arp_at) = self.arrival(&report.node_kill.1, from);
        report.node_kill_arp_ms = arp_at.zip(vip_at).map(|(a, v)| (a - v).max(0) as u64);
        self.say(&format!(
            "client: the longest HTTP outage while the VIP moved: {outage} ms; its ARP entry followed the VIP {}",
            arp_delay(report.node_kill_arp_ms)
        ));
        Ok(())
    }

    /// Kills node `i`: its `nics` down (nothing it sends gets out), every process SIGKILLed.
    /// Returns when (Unix ms) the links went down.
    pub(super) fn kill_node(&mut self, i: usize, nics: &[&str]) -> Result<i64, String> {
        let t_unix = unix_ms();
        let (ns, name) = (self.nodes[i].ns.clone(), self.nodes[i].name.clone());
        for nic in nics {
            ip(&["-n", &ns, "link", "set", nic, "down"])?;
        }
        let procs: Vec<&'static str> = self.nodes[i].procs.keys().copied().collect();
        for k in procs {
            self.kill_proc(&name, k)?;
        }
        // Whatever else runs there (check scripts in flight).
        kill_all_in(&ns);
        self.nodes[i].dead = true;
        Ok(t_unix)
    }

    /// When, after `since` (ms), `node` got the API VIP (`ip -j addr`) and when the client's
    /// neighbour entry for the VIP first named it.
    pub(super) fn arrival(&self, node: &str, since: i64) -> (Option<i64>, Option<i64>) {
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let first = |kind: &str, f: &dyn Fn(&Event) -> bool| {
            events.iter().filter(|e| e.kind == kind && e.node == node && e.t_ms >= since && f(e)).map(|e| e.t_ms).min()
        };
        (first("vip", &|e| e.detail == format!("+{API_VIP}")), first("arp", &|_| true))
    }

    pub(super) fn timeline(&self, window: (i64, i64)) -> Timeline {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner()).clone();
        events.extend(self.vrrp_events());
        events.extend(self.bgp_events());
        events.extend(self.probes());
        events.sort_by_key(|e| e.t_ms);
        let (mode, advert_int, daemon, mechanism) = if self.router.is_some() {
            ("l3", None, "bmnet bgp run", l3::MECHANISM.to_string())
        } else {
            let daemon = if self.opts.keepalived { "keepalived" } else { "bmnet vrrp run" };
            ("l2", Some(self.opts.advert), daemon, format!("VRRPv3, advert {} s", self.opts.advert))
        };
        Timeline {
            zone: ZONE.into(),
            api_vip: API_VIP.into(),
            mode: mode.into(),
            advert_int,
            daemon: daemon.into(),
            mechanism,
            start_unix_ms: self.t0_unix,
            nodes: self.nodes.iter().map(|n| (n.name.clone(), n.role)).collect(),
            window_ms: window,
            summary: Vec::new(),
            events,
        }
    }

    /// Every node's VRRP daemon log, for a failure message.
    fn vrrp_logs(&self) -> String {
        self.nodes
            .iter()
            .filter_map(|n| n.procs.get("vrrp").map(|p| format!("--- {}\n{}\n", n.name, p.log())))
            .collect()
    }
}
