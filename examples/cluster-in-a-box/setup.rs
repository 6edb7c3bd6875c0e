//! Building the cluster: namespaces and links, keyfiles, node IPs, and the daemons of every
//! node (DNS, stand-in API servers, HAProxy, VRRP) with their configuration files.

use super::*;

impl Cluster {
    pub(super) fn build_topology(&mut self) -> Result<(), String> {
        let bridge = self.bridge_ns.clone();
        self.netns(&bridge)?;
        ip(&["-n", &bridge, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &bridge, "link", "set", "br0", "up"])?;
        let specs = [("master-0", Role::Master), ("master-1", Role::Master), ("master-2", Role::Master)]
            .into_iter()
            .chain([("worker-0", Role::Worker), ("worker-1", Role::Worker)]);
        for (i, (name, role)) in specs.enumerate() {
            let ns = format!("{}-{name}", self.tag);
            self.netns(&ns)?;
            // Two NICs on one L2: only the NIC that has an address answers ARP for it.
            for s in ["net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"] {
                let o = self.exec(&ns, &["sysctl", "-qw", s])?;
                if !o.status.success() {
                    return Err(format!("sysctl {s} in {ns}: {}", text(&o)));
                }
            }
            let short = format!("{}{}", &name[..1], &name[name.len() - 1..]);
            for (nic, side) in [("eth0", "a"), ("eth1", "b")] {
                let peer = format!("{short}{side}");
                ip(&["link", "add", nic, "netns", &ns, "type", "veth", "peer", "name", &peer, "netns", &bridge])?;
                ip(&["-n", &bridge, "link", "set", &peer, "master", "br0", "up"])?;
                ip(&["-n", &ns, "link", "set", nic, "up"])?;
            }
            let (ip, vlan_ip) = (format!("192.168.111.{}", 20 + i), format!("172.22.0.{}", 20 + i));
            self.nodes.push(Node::new(name, role, ns, ip, vlan_ip, &self.dir)?);
        }
        let client = self.client_ns.clone();
        self.netns(&client)?;
        ip(&["link", "add", "eth0", "netns", &client, "type", "veth", "peer", "name", "cla", "netns", &bridge])?;
        ip(&["-n", &bridge, "link", "set", "cla", "master", "br0", "up"])?;
        ip(&["-n", &client, "addr", "add", &format!("{CLIENT_IP}/24"), "dev", "eth0"])?;
        ip(&["-n", &client, "link", "set", "eth0", "up"])?;
        self.say(&format!(
            "topology: bridge br0 in netns {bridge}; 3 control-plane and 2 worker namespaces with two veth NICs \
             each (eth0, eth1); a client namespace at {CLIENT_IP}"
        ));
        Ok(())
    }

    /// The node's NodeNetworkConfigurationPolicy: a bond of both NICs on the machine network,
    /// a storage VLAN on the bond, the default route on the VLAN (so only the VIP-subnet rule
    /// picks the right node IP) and static DNS.
    pub(super) fn nncp(n: &Node) -> String {
        format!(
            "apiVersion: nmstate.io/v1
kind: NodeNetworkConfigurationPolicy
metadata:
  name: {name}-network
spec:
  nodeSelector:
    kubernetes.io/hostname: {name}
  desiredState:
    interfaces:
      - name: eth0
        type: ethernet
        state: up
      - name: eth1
        type: ethernet
        state: up
      - name: bond0
        type: bond
        state: up
        ipv4:
          enabled: true
          dhcp: false
          address:
            - ip: {ip}
              prefix-length: 24
        ipv6:
          enabled: false
        link-aggregation:
          mode: active-backup
          options:
            miimon: \"100\"
          port:
            - eth0
            - eth1
      - name: bond0.20
        type: vlan
        state: up
        vlan:
          base-iface: bond0
          id: 20
        ipv4:
          enabled: true
          dhcp: false
          address:
            - ip: {vlan_ip}
              prefix-length: 24
        ipv6:
          enabled: false
    routes:
      config:
        - destination: 0.0.0.0/0
          next-hop-address: 172.22.0.1
          next-hop-interface: bond0.20
          metric: 400
    dns-resolver:
      config:
        server:
          - {GATEWAY}
        search:
          - example.com
",
            name = n.name,
            ip = n.ip,
            vlan_ip = n.vlan_ip,
        )
    }

    /// Which veth stands in for a profile's interface: a bond for its first port, a VLAN for
    /// the last port of its base bond (the kernel here has no bonding or 802.1Q module).
    pub(super) fn stand_in(state: &State, name: &str) -> Result<(String, String), String> {
        let iface = state.interfaces.iter().find(|i| i.name == name).ok_or(format!("no interface {name}"))?;
        match iface.kind {
            InterfaceType::Ethernet => Ok((name.to_string(), "itself".into())),
            InterfaceType::Bond => {
                let bond = iface.link_aggregation.as_ref().ok_or(format!("{name}: bond without settings"))?;
                let first = bond.port.first().ok_or(format!("{name}: bond without ports"))?;
                let mode = serde_json::to_value(bond.mode).ok().and_then(|v| v.as_str().map(str::to_string));
                Ok((first.clone(), format!("bond {} of {}", mode.unwrap_or_default(), bond.port.join("+"))))
            }
            InterfaceType::Vlan => {
                let vlan = iface.vlan.as_ref().ok_or(format!("{name}: VLAN without settings"))?;
                let (base_nic, _) = Self::stand_in(state, &vlan.base_iface)?;
                let base = state.interfaces.iter().find(|i| i.name == vlan.base_iface);
                let nic = base
                    .and_then(|b| b.link_aggregation.as_ref())
                    .and_then(|b| b.port.last().cloned())
                    .unwrap_or(base_nic);
                Ok((nic, format!("VLAN {} on {}", vlan.id, vlan.base_iface)))
            }
            other => Err(format!("{name}: {other:?} has no stand-in")),
        }
    }

    pub(super) fn keyfiles(&mut self) -> Result<(), String> {
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            let yaml = n.dir.join("nncp.yaml");
            write(&yaml, &Self::nncp(n))?;
            let conns = n.root.join("etc/NetworkManager/system-connections");
            std::fs::create_dir_all(&conns).map_err(|e| format!("mkdir {}: {e}", conns.display()))?;
            let (yaml_s, conns_s) = (yaml.display().to_string(), conns.display().to_string());
            let rendered = self.bmnet_ok(&["nmconn", "render", &yaml_s, "--out-dir", &conns_s])?;
            let checked = self.bmnet_ok(&["nmconn", "check", &conns_s])?;
            let mut names: Vec<PathBuf> = std::fs::read_dir(&conns)
                .map_err(|e| format!("{}: {e}", conns.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            names.sort();
            let mut docs = Vec::new();
            for p in &names {
                let mode = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?.permissions().mode();
                if mode & 0o777 != 0o600 {
                    return Err(format!("{}: mode {:o}, NetworkManager wants 0600", p.display(), mode & 0o777));
                }
                docs.push(Document::parse(&read(p)?).map_err(|e| format!("{}: {e}", p.display()))?);
            }
            let back = bm_nmconn::render::to_state(&docs);
            if !back.warnings.is_empty() {
                return Err(format!("{}: keyfiles read back with warnings: {:?}", n.name, back.warnings));
            }
            let state = back.state;
            let files: Vec<String> =
                names.iter().filter_map(|p| p.file_name().map(|f| f.to_string_lossy().into_owned())).collect();
            self.say(&format!(
                "{}: `bmnet nmconn render` wrote {} keyfiles ({}); `bmnet nmconn check`: {}",
                n.name,
                rendered.lines().count(),
                files.join(", "),
                checked.lines().last().unwrap_or("").trim()
            ));
            let ns = n.ns.clone();
            let mut applied = Vec::new();
            for iface in &state.interfaces {
                let Some(v4) = &iface.ipv4 else { continue };
                for a in &v4.address {
                    let (nic, what) = Self::stand_in(&state, &iface.name)?;
                    let cidr = format!("{}/{}", a.ip, a.prefix_length);
                    ip(&["-n", &ns, "addr", "add", &cidr, "dev", &nic])?;
                    applied.push(format!("{} ({what}) {cidr} -> veth {nic}", iface.name));
                }
            }
            for r in state.routes.iter().flat_map(|r| &r.config) {
                let dest = r.destination.to_string();
                let mut args = vec!["-n".to_string(), ns.clone(), "route".into(), "add".into(), dest.clone()];
                if let Some(via) = r.next_hop_address {
                    args.extend(["via".into(), via.to_string()]);
                }
                if let Some(dev) = &r.next_hop_interface {
                    args.extend(["dev".into(), Self::stand_in(&state, dev)?.0]);
                }
                if let Some(m) = r.metric {
                    args.extend(["metric".into(), m.to_string()]);
                }
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                ip(&refs)?;
                applied.push(format!(
                    "route {dest} via {} on {} (metric {})",
                    r.next_hop_address.map_or("-".into(), |a| a.to_string()),
                    r.next_hop_interface.as_deref().unwrap_or("-"),
                    r.metric.unwrap_or(0)
                ));
            }
            let n = &self.nodes[i];
            if !applied.iter().any(|a| a.contains(&format!("{}/24", n.ip))) {
                return Err(format!("{}: the keyfiles do not declare {}", n.name, n.ip));
            }
            // NetworkManager's resolv.conf, from the keyfiles' DNS.
            let mut nm = String::from("# Generated by NetworkManager\n");
            if let Some(d) = &state.dns_resolver {
                if !d.config.search.is_empty() {
                    let _ = writeln!(nm, "search {}", d.config.search.join(" "));
                }
                for s in &d.config.server {
                    let _ = writeln!(nm, "nameserver {s}");
                }
            }
            write(&n.root.join("var/run/NetworkManager/resolv.conf"), &nm)?;
            self.say(&format!(
                "{}: applied what the keyfiles declare (stand-ins: this kernel cannot load bonding or 802.1Q): {}",
                n.name,
                applied.join("; ")
            ));
        }
        Ok(())
    }

    pub(super) fn node_ips(&mut self, report: &mut Report) -> Result<(), String> {
        for n in &self.nodes {
            let root = n.root.display().to_string();
            let bmnet = self.bmnet_path();
            let o = self.exec(
                &n.ns,
                &[&bmnet, "node-ip", "set", "--root", &root, "--vip", API_VIP, "--vip", INGRESS_VIP, "--json"],
            )?;
            if !o.status.success() {
                return Err(format!("{}: bmnet node-ip set failed: {}", n.name, text(&o)));
            }
            let v: serde_json::Value = serde_json::from_slice(&o.stdout)
                .map_err(|e| format!("{}: node-ip set --json: {e}: {}", n.name, text(&o)))?;
            let chosen = v["node_ip"].as_str().unwrap_or_default().to_string();
            if chosen != n.ip {
                return Err(format!(
                    "{}: bmnet node-ip chose {chosen:?}, not {} (the bond's address in the VIP subnet): {v}",
                    n.name, n.ip
                ));
            }
            let files = v["files"].as_array().map_or(0, Vec::len);
            for f in v["files"].as_array().into_iter().flatten() {
                let p = PathBuf::from(f.as_str().unwrap_or_default());
                if !p.starts_with(&n.root) || !p.exists() {
                    return Err(format!("{}: node-ip set wrote {} outside the node's root", n.name, p.display()));
                }
            }
            self.say(&format!(
                "{}: `bmnet node-ip set --vip {API_VIP} --vip {INGRESS_VIP}` chose {chosen} (VIP-subnet rule; the \
                 default route is on the VLAN) and wrote {files} files under the node's root",
                n.name
            ));
            report.node_ips.insert(n.name.clone(), chosen);
        }
        Ok(())
    }

    // ---------------------------------------------------------------- services

    pub(super) fn start_dns(&mut self) -> Result<(), String> {
        let nodes: Vec<String> = self.nodes.iter().map(|n| format!("{}={}", n.name, n.ip)).collect();
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            let nm = n.root.join("var/run/NetworkManager/resolv.conf");
            let resolv = n.root.join("etc/resolv.conf");
            std::fs::create_dir_all(n.root.join("etc")).map_err(|e| e.to_string())?;
            self.bmnet_ok(&[
                "dns",
                "resolv-conf",
                "--node-ip",
                &n.ip,
                "--cluster-domain",
                ZONE,
                "--input",
                &nm.display().to_string(),
                "--output",
                &resolv.display().to_string(),
            ])?;
            // The upstreams are NetworkManager's name servers but the node itself, as OpenShift's.
            let upstreams: Vec<String> = read(&nm)?
                .lines()
                .filter_map(|l| l.strip_prefix("nameserver "))
                .map(|s| s.trim().to_string())
                .filter(|s| *s != n.ip)
                .collect();
            let listen = format!("{}:53", n.ip);
            let bmnet = self.bmnet_path();
            let mut argv: Vec<String> = [
                bmnet.as_str(),
                "dns",
                "serve",
                "--listen",
                &listen,
                "--zone",
                ZONE,
                "--api-vip",
                API_VIP,
                "--ingress-vip",
                INGRESS_VIP,
                "--workers",
                "1",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            for node in &nodes {
                argv.extend(["--node".into(), node.clone()]);
            }
            for u in &upstreams {
                argv.extend(["--upstream".into(), u.clone()]);
            }
            let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
            let status = n.root.join("run/bmnet");
            let p = self.spawn(Some(i), "dns", &refs, Some(&status))?;
            self.nodes[i].procs.insert("dns", p);
        }
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            let at = format!("@{}", n.ip);
            let start = Instant::now();
            loop {
                let o =
                    self.exec(&n.ns, &["dig", "+short", "+time=1", "+tries=1", &at, "health.bmnet", "TXT", "CH"])?;
                if String::from_utf8_lossy(&o.stdout).trim().starts_with("\"ok\"") {
                    break;
                }
                if start.elapsed() > Duration::from_secs(10) {
                    let log = self.nodes[i].procs.get("dns").map(Proc::log).unwrap_or_default();
                    return Err(format!("{}: bmnet dns serve does not answer on {}:\n{log}", n.name, n.ip));
                }
                self.sleep(Duration::from_millis(50))?;
            }
            let first = read(&n.root.join("etc/resolv.conf"))?
                .lines()
                .find_map(|l| l.strip_prefix("nameserver ").map(|s| s.trim().to_string()))
                .unwrap_or_default();
            if first != n.ip {
                return Err(format!(
                    "{}: the rendered resolv.conf's first name server is {first:?}, not {}",
                    n.name, n.ip
                ));
            }
        }
        self.say(&format!(
            "DNS: `bmnet dns serve` answers {ZONE} on every node IP (health.bmnet TXT CH \"ok\"); every node's \
             resolv.conf (`bmnet dns resolv-conf`) names its own IP first"
        ));
        Ok(())
    }

    pub(super) fn start_backend(&mut self, i: usize) -> Result<(), String> {
        let n = &self.nodes[i];
        let www = n.dir.join("apiserver");
        write(&www.join("index.html"), &format!("kube-apiserver stand-in on {}\n", n.name))?;
        write(&www.join("readyz"), "ok\n")?;
        let www_s = www.display().to_string();
        let p = self.spawn(
            Some(i),
            "apiserver",
            &["python3", "-m", "http.server", "6443", "--bind", "0.0.0.0", "--directory", &www_s],
            None,
        )?;
        self.nodes[i].procs.insert("apiserver", p);
        self.wait_http(i, "http://127.0.0.1:6443/readyz", "the API server stand-in")
    }

    pub(super) fn wait_http(&self, i: usize, url: &str, what: &str) -> Result<(), String> {
        let start = Instant::now();
        loop {
            let o = self.exec(&self.nodes[i].ns, &["curl", "-o", "/dev/null", "-fs", "--max-time", "1", url])?;
            if o.status.success() {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(10) {
                let logs: String = self.nodes[i].procs.iter().map(|(k, p)| format!("--- {k}\n{}\n", p.log())).collect();
                return Err(format!("{}: {what} does not answer {url}\n{logs}", self.nodes[i].name));
            }
            self.sleep(Duration::from_millis(50))?;
        }
    }

    pub(super) fn haproxy_cfg(&self, n: &Node) -> String {
        match n.role {
            Role::Master => {
                let mut servers = String::new();
                for m in self.nodes.iter().filter(|m| m.role == Role::Master) {
                    let _ =
                        writeln!(servers, "  server {} {}:6443 weight 1 check inter 200ms fall 2 rise 3", m.name, m.ip);
                }
                format!(
                    "# OpenShift's on-prem API load balancer (haproxy.cfg template), timers scaled down.
global
  maxconn 2000
defaults
  maxconn 2000
  mode tcp
  option dontlognull
  retries 3
  option redispatch
  timeout http-request 30s
  timeout queue 1m
  timeout connect 500ms
  timeout check 300ms
  timeout client 86400s
  timeout server 86400s
  timeout tunnel 86400s
frontend main
  bind :::{API_LB_PORT} v4v6
  default_backend masters
listen health_check_http_url
  bind :::9444 v4v6
  mode http
  monitor-uri /haproxy_ready
  option dontlognull
backend masters
  option httpchk GET /readyz HTTP/1.0
  balance roundrobin
{servers}"
                )
            }
            Role::Worker => format!(
                "# The ingress router's stand-in: its health endpoints and a default route answer.
global
  maxconn 2000
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
frontend public
  bind :80
  http-request return status 200 content-type text/plain string \"router-default on {name}\"
frontend stats
  bind :::1936 v4v6
  http-request return status 200 content-type text/plain string ok if {{ path /healthz }} || {{ path /healthz/ready }}
  http-request return status 404
",
                name = n.name
            ),
        }
    }

    pub(super) fn start_haproxy(&mut self, i: usize) -> Result<(), String> {
        let cfg = self.nodes[i].dir.join("haproxy.cfg");
        write(&cfg, &self.haproxy_cfg(&self.nodes[i]))?;
        let cfg_s = cfg.display().to_string();
        let p = self.spawn(Some(i), "haproxy", &["/usr/sbin/haproxy", "-db", "-f", &cfg_s], None)?;
        self.nodes[i].procs.insert("haproxy", p);
        let url = match self.nodes[i].role {
            Role::Master => "http://localhost:9444/haproxy_ready",
            Role::Worker => "http://localhost:1936/healthz/ready",
        };
        self.wait_http(i, url, "HAProxy")
    }

    /// OpenShift's keepalived.conf (masters: the API instance with `chk_ocp_lb` +20 and
    /// `chk_ocp_both` +5 on priority 40; workers: the ingress instance with `chk_ingress`
    /// (weight 0: FAULT while failing) and `chk_ingress_ready` +10 on priority 20), unicast,
    /// `label vip`; VRRPv3 so that adverts can be faster than a second.
    pub(super) fn keepalived_conf(&self, n: &Node) -> Result<String, String> {
        let kdir = n.root.join("etc/keepalived");
        let flag = n.root.join("var/run/keepalived/iptables-rule-exists");
        let peers: String = self
            .nodes
            .iter()
            .filter(|m| m.role == n.role && m.name != n.name)
            .map(|m| format!("        {}\n", m.ip))
            .collect();
        let script = |name: &str, body: &str| -> Result<String, String> {
            let path = kdir.join(name);
            write(&path, &format!("#!/bin/bash\n{body}\n"))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
            Ok(format!("/usr/bin/timeout {SCRIPT_TIMEOUT} {}", path.display()))
        };
        let adv = self.opts.advert;
        // keepalived refuses scripts under a world-writable directory (the scratch directory is
        // in /tmp) when script security is on.
        let security = if self.opts.keepalived { "" } else { "    enable_script_security\n" };
        let global = format!(
            "global_defs {{\n{security}    script_user root\n    max_auto_priority -1\n    vrrp_garp_master_refresh \
             60\n    vrrp_version 3\n}}\n"
        );
        let (scripts, instance) = match n.role {
            Role::Master => {
                write(&flag, "")?;
                let lb = script(
                    "chk_ocp_script.sh",
                    &format!(
                        "/usr/bin/curl -o /dev/null -kLfs http://localhost:9444/haproxy_ready && [ -e {} ]",
                        flag.display()
                    ),
                )?;
                let both = script(
                    "chk_ocp_script_both.sh",
                    &format!(
                        "/usr/bin/curl -o /dev/null -kLfs http://localhost:9444/haproxy_ready && [ -e {} ] || \
                         /usr/bin/curl -kLfs -o /dev/null http://localhost:6443/readyz",
                        flag.display()
                    ),
                )?;
                (
                    format!(
                        "vrrp_script chk_ocp_lb {{\n    script \"{lb}\"\n    interval {SCRIPT_INTERVAL}\n    weight \
                         {CHK_OCP_LB_WEIGHT}\n    rise 3\n    fall {API_FALL}\n}}\n\
                         vrrp_script chk_ocp_both {{\n    script \"{both}\"\n    interval {SCRIPT_INTERVAL}\n    weight \
                         {CHK_OCP_BOTH_WEIGHT}\n    rise 3\n    fall {API_FALL}\n}}\n"
                    ),
                    format!(
                        "vrrp_instance ostest_API {{\n    state BACKUP\n    interface eth0\n    virtual_router_id \
                         {API_VRID}\n    priority {API_PRIORITY}\n    advert_int {adv}\n    unicast_src_ip {ip}\n    \
                         unicast_peer {{\n{peers}    }}\n    virtual_ipaddress {{\n        {API_VIP}/24 label vip\n    \
                         }}\n    track_script {{\n        chk_ocp_lb\n        chk_ocp_both\n    }}\n}}\n",
                        ip = n.ip
                    ),
                )
            }
            Role::Worker => {
                let health = script("chk_ingress.sh", "/usr/bin/curl -o /dev/null -Lfs http://localhost:1936/healthz")?;
                let ready = script(
                    "chk_ingress_ready.sh",
                    "/usr/bin/curl -o /dev/null -Lfs http://localhost:1936/healthz/ready",
                )?;
                (
                    format!(
                        "vrrp_script chk_ingress {{\n    script \"{health}\"\n    interval {SCRIPT_INTERVAL}\n    rise \
                         3\n    fall 2\n}}\n\
                         vrrp_script chk_ingress_ready {{\n    script \"{ready}\"\n    interval {SCRIPT_INTERVAL}\n    \
                         weight {CHK_INGRESS_READY_WEIGHT}\n    rise 3\n    fall 2\n}}\n"
                    ),
                    format!(
                        "vrrp_instance ostest_INGRESS {{\n    state BACKUP\n    interface eth0\n    virtual_router_id \
                         {INGRESS_VRID}\n    priority {INGRESS_PRIORITY}\n    advert_int {adv}\n    unicast_src_ip \
                         {ip}\n    unicast_peer {{\n{peers}    }}\n    virtual_ipaddress {{\n        {INGRESS_VIP}/24 \
                         label vip\n    }}\n    track_script {{\n        chk_ingress\n        chk_ingress_ready\n    \
                         }}\n}}\n",
                        ip = n.ip
                    ),
                )
            }
        };
        Ok(format!("{global}{scripts}{instance}"))
    }

    pub(super) fn start_vrrp(&mut self, i: usize) -> Result<(), String> {
        let conf = self.keepalived_conf(&self.nodes[i])?;
        let path = self.nodes[i].root.join("etc/keepalived/keepalived.conf");
        write(&path, &conf)?;
        let path_s = path.display().to_string();
        let check = self.bmnet(&["vrrp", "check-config", &path_s])?;
        if !check.status.success() {
            return Err(format!("{}: bmnet vrrp check-config refuses {path_s}:\n{}", self.nodes[i].name, text(&check)));
        }
        let p = if self.opts.keepalived {
            let d = &self.nodes[i].dir;
            let (pid, vrrp_pid) =
                (d.join("keepalived.pid").display().to_string(), d.join("vrrp.pid").display().to_string());
            self.spawn(
                Some(i),
                "keepalived",
                &[KEEPALIVED, "-n", "-l", "-D", "-P", "-G", "-f", &path_s, "-p", &pid, "-r", &vrrp_pid],
                None,
            )?
        } else {
            let bmnet = self.bmnet_path();
            let status = self.nodes[i].root.join("run/bmnet");
            self.spawn(Some(i), "vrrp", &[&bmnet, "vrrp", "run", "--config", &path_s, "--json"], Some(&status))?
        };
        self.nodes[i].procs.insert("vrrp", p);
        Ok(())
    }

    pub(super) fn daemon(&self) -> &'static str {
        if self.opts.keepalived {
            "keepalived -n -l -D -P -G -f keepalived.conf"
        } else {
            "bmnet vrrp run --config keepalived.conf --json"
        }
    }

    pub(super) fn start_services(&mut self) -> Result<(), String> {
        self.start_dns()?;
        for i in 0..self.nodes.len() {
            if self.nodes[i].role == Role::Master {
                self.start_backend(i)?;
            }
        }
        for i in 0..self.nodes.len() {
            self.start_haproxy(i)?;
        }
        self.say(
            "HAProxy (/usr/sbin/haproxy) runs on every node: on the masters OpenShift's API load balancer \
             (:9445 -> the three API server stand-ins on :6443, /haproxy_ready on :9444), on the workers the \
             router's stand-in (:80, /healthz and /healthz/ready on :1936)",
        );
        let conf = self.keepalived_conf(&self.nodes[0])?;
        for i in 0..self.nodes.len() {
            self.start_vrrp(i)?;
        }
        self.say(&format!(
            "VRRP: `{}` on every node (`bmnet vrrp check-config` passed); master-0's keepalived.conf:\n{}",
            self.daemon(),
            conf.lines().map(|l| format!("           | {l}")).collect::<Vec<_>>().join("\n")
        ));
        Ok(())
    }
}
