//! The failover chart: the cluster in a box's timeline (VRRP states, VIP holders, the
//! client's neighbour entry, HTTP and DNS probes, the scenario's steps) as a hand-written SVG;
//! in L3 mode the same chart with BGP announcements, the router's next hops and the number of
//! ECMP paths in their place.

use std::fmt::Write as _;

use super::{Event, INGRESS_VIP, Role, Timeline};

/// `line` broken at spaces into lines of at most `width` characters (a longer word stays
/// whole), continuation lines indented by four spaces.
pub fn wrap(line: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in line.split(' ') {
        let indent = if out.is_empty() { 0 } else { 4 };
        if !cur.is_empty() && indent + cur.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    out.push(cur);
    out.into_iter().enumerate().map(|(i, l)| if i == 0 { l } else { format!("    {l}") }).collect()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A distinct colour per node, for the client's ARP lane.
const NODE_COLORS: [&str; 6] = ["#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#827717", "#ad1457"];

/// Turns point events `(t, value)` into segments `(from, to, value)` over `[from, to]`; the
/// value before the first event is `initial`.
fn segments(points: &[(i64, String)], initial: &str, from: i64, to: i64) -> Vec<(i64, i64, String)> {
    let mut out = Vec::new();
    let mut value = initial.to_string();
    let mut since = from;
    for (t, v) in points {
        if *t > to {
            break;
        }
        if *t > since {
            out.push((since, *t, value.clone()));
            since = *t;
        }
        value.clone_from(v);
    }
    out.push((since, to, value));
    out.retain(|(a, b, _)| b > a && *b > from && *a < to);
    out
}

/// Renders the timeline's window as an SVG chart: per node its VRRP state (from
/// `bmnet vrrp run --json`) and when it held its VIP (from `ip -j addr`); which node's MAC the
/// client sends the API VIP to; the client's HTTP probes through the VIP and its DNS probes of
/// every node; the scenario's actions; the HTTP outages shaded. In L3 mode, per node whether
/// it announces its VIP (from `bmnet bgp run --json`) and when the router's FIB has it as a
/// next hop, and the router's paths to the API VIP instead of the neighbour entry.
pub fn render_svg(tl: &Timeline) -> String {
    let l3 = tl.mode == "l3";
    // Which events give a node's state and its VIP.
    let (state_kind, held_kind) = if l3 { ("bgp", "fib") } else { ("vrrp", "vip") };
    let dns_lane = tl.events.iter().any(|e| e.kind == "dns");
    let (from, to) = tl.window_ms;
    let span = (to - from).max(1) as f64;
    let (left, right) = (160.0, 20.0);
    // The summary, wrapped to the chart's width (about 150 characters of 12 px text).
    let summary: Vec<String> = tl.summary.iter().flat_map(|l| wrap(l, 150)).collect();
    let top = 70.0 + 14.0 * summary.len() as f64 + 40.0;
    let width = 1100.0;
    let plot = width - left - right;
    let x = |t: i64| left + ((t - from) as f64 / span * plot).clamp(0.0, plot);
    let row_h = 26.0;
    let rows = tl.nodes.len() + 2 + usize::from(dns_lane);
    let bottom = top + rows as f64 * row_h;
    let legend_y = bottom + 44.0;
    let height = legend_y + 44.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} \
         {height}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        s,
        "<text x=\"20\" y=\"24\" font-size=\"15\" font-weight=\"bold\">cluster in a box{}: the API VIP {} under \
         failures ({}, {})</text>",
        if l3 { ", L3 mode" } else { "" },
        esc(&tl.api_vip),
        esc(&tl.daemon),
        esc(&tl.mechanism)
    );
    for (k, line) in summary.iter().enumerate() {
        let _ = writeln!(
            s,
            "<text x=\"20\" y=\"{}\" fill=\"#424242\" xml:space=\"preserve\">{}</text>",
            46.0 + 14.0 * k as f64,
            esc(line)
        );
    }
    // HTTP outages, shaded over every row.
    let http: Vec<&Event> = tl.events.iter().filter(|e| e.kind == "http" && e.t_ms >= from && e.t_ms <= to).collect();
    let mut run: Option<i64> = None;
    let mut outages = Vec::new();
    for e in &http {
        match (e.ok == Some(true), run) {
            (false, None) => run = Some(e.t_ms),
            (true, Some(st)) => {
                outages.push((st, e.t_ms));
                run = None;
            }
            _ => {}
        }
    }
    if let Some(st) = run {
        outages.push((st, to));
    }
    for (a, b) in &outages {
        let _ = writeln!(
            s,
            "<rect x=\"{:.1}\" y=\"{}\" width=\"{:.1}\" height=\"{}\" fill=\"#ffcdd2\" opacity=\"0.6\"/>",
            x(*a),
            top - 6.0,
            (x(*b) - x(*a)).max(1.0),
            rows as f64 * row_h + 6.0
        );
        // Short blips are visible enough unlabelled.
        if b - a >= 150 {
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{}\" fill=\"#b71c1c\" font-size=\"10\">HTTP outage {} ms</text>",
                x(*a) + 2.0,
                bottom + 12.0,
                b - a
            );
        }
    }
    // Grid and axis.
    let step = if span > 20_000.0 { 2000 } else { 1000 };
    let mut t = (from / step + 1) * step;
    while t < to {
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#e0e0e0\"/><text x=\"{0:.1}\" y=\"{3}\" \
             text-anchor=\"middle\" fill=\"#616161\" font-size=\"10\">{4:.0} s</text>",
            x(t),
            top - 6.0,
            bottom,
            bottom + 26.0,
            t as f64 / 1000.0
        );
        t += step;
    }
    // Actions, labels staggered over three lines.
    let steps: Vec<&Event> = tl.events.iter().filter(|e| e.kind == "step" && e.t_ms >= from && e.t_ms <= to).collect();
    for (k, e) in steps.iter().enumerate() {
        let xx = x(e.t_ms);
        let ly = top - 36.0 + (k % 3) as f64 * 11.0;
        let _ = writeln!(
            s,
            "<line x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{:.1}\" y2=\"{bottom}\" stroke=\"#37474f\" \
             stroke-dasharray=\"4 3\"/><text x=\"{:.1}\" y=\"{ly:.1}\" font-size=\"10\" fill=\"#37474f\">{}</text>",
            ly + 2.0,
            xx + 2.0,
            esc(&e.detail)
        );
    }
    let state_color = |state: &str| match state {
        "MASTER" => "#2e7d32",
        "BACKUP" => "#90a4ae",
        "FAULT" | "WITHDRAWN" => "#c62828",
        "ANNOUNCED" => "#2e7d32",
        "DEAD" => "#212121",
        _ => "#eeeeee",
    };
    let label = |s: &mut String, y: f64, text: &str| {
        let _ =
            writeln!(s, "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>", left - 8.0, y + 14.0, esc(text));
    };
    for (r, (name, role)) in tl.nodes.iter().enumerate() {
        let y = top + r as f64 * row_h;
        label(&mut s, y, &format!("{name} ({})", if *role == Role::Master { "API" } else { "ingress" }));
        let dead_at = steps.iter().find(|e| e.node == *name && e.detail.starts_with("kill node")).map(|e| e.t_ms);
        let end = dead_at.unwrap_or(to);
        // VRRP state or BGP announcement, from the daemon's transitions.
        let points: Vec<(i64, String)> = tl
            .events
            .iter()
            .filter(|e| e.kind == state_kind && e.node == *name)
            .map(|e| {
                let next = e.detail.split(" -> ").nth(1).and_then(|r| r.split_whitespace().next()).unwrap_or("INIT");
                (e.t_ms, next.to_string())
            })
            .collect();
        let mut segs = segments(&points, "INIT", from, end);
        if let Some(d) = dead_at {
            segs.push((d, to, "DEAD".into()));
        }
        for (a, b, st) in &segs {
            let _ = writeln!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"12\" fill=\"{}\"><title>{} {st}</title></rect>",
                x(*a),
                y + 3.0,
                (x(*b) - x(*a)).max(0.5),
                state_color(st),
                esc(name)
            );
        }
        // The VIP held, from `ip -j addr`, or the node a next hop of it in the router's FIB.
        let vip = if *role == Role::Master { tl.api_vip.clone() } else { INGRESS_VIP.to_string() };
        let points: Vec<(i64, String)> = tl
            .events
            .iter()
            .filter(|e| e.kind == held_kind && e.node == *name && e.detail.ends_with(&vip))
            .map(|e| (e.t_ms, e.detail[..1].to_string()))
            .collect();
        // The router's FIB outlives a dead node until it notices: drawn to the end in L3 mode.
        let held_until = if l3 { to } else { end };
        for (a, b, _) in segments(&points, "-", from, held_until).iter().filter(|(_, _, v)| v == "+") {
            let _ = writeln!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"5\" fill=\"#1565c0\"/>",
                x(*a),
                y + 17.0,
                (x(*b) - x(*a)).max(0.5)
            );
        }
    }
    // Which node's MAC the client sends the API VIP to; in L3 mode, the router's paths to it.
    let y = top + tl.nodes.len() as f64 * row_h;
    if l3 {
        label(&mut s, y, "router: paths to the VIP");
        ecmp_lane(&mut s, tl, y, (from, to), &x);
    } else {
        label(&mut s, y, "client's ARP for the VIP");
    }
    let points: Vec<(i64, String)> =
        tl.events.iter().filter(|e| e.kind == "arp").map(|e| (e.t_ms, e.node.clone())).collect();
    for (a, b, node) in segments(&points, "", from, to).iter().filter(|(_, _, n)| !n.is_empty()) {
        let k = tl.nodes.iter().position(|(n, _)| n == node).unwrap_or(NODE_COLORS.len() - 1);
        let w = (x(*b) - x(*a)).max(0.5);
        let _ = writeln!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"14\" fill=\"{}\" opacity=\"0.85\"><title>the \
             client sends the VIP to {}</title></rect>",
            x(*a),
            y + 2.0,
            NODE_COLORS[k % NODE_COLORS.len()],
            esc(node)
        );
        if w > 60.0 {
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"white\" font-size=\"10\">{}</text>",
                x(*a) + 4.0,
                y + 13.0,
                esc(node)
            );
        }
    }
    // HTTP probes.
    let y = top + (tl.nodes.len() + 1) as f64 * row_h;
    label(&mut s, y, "HTTP via the VIP");
    let w = (50.0 / span * plot).max(1.0) * 0.8;
    for e in &http {
        let fill = if e.ok == Some(true) { "#43a047" } else { "#e53935" };
        let _ = writeln!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"14\" fill=\"{fill}\"><title>{} ms: {}</title></rect>",
            x(e.t_ms),
            y + 2.0,
            e.t_ms,
            esc(&e.detail)
        );
    }
    // DNS probes, one thin line per node.
    let y = top + (tl.nodes.len() + 2) as f64 * row_h;
    if dns_lane {
        label(&mut s, y, "DNS api.* (per node)");
    }
    for e in tl.events.iter().filter(|e| e.kind == "dns" && e.t_ms >= from && e.t_ms <= to) {
        let k = tl.nodes.iter().position(|(n, _)| *n == e.node).unwrap_or(0);
        let fill = if e.ok == Some(true) { "#43a047" } else { "#e53935" };
        let _ = writeln!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"3\" fill=\"{fill}\"><title>{} {}</title></rect>",
            x(e.t_ms),
            y + 1.0 + k as f64 * 4.0,
            (250.0 / span * plot * 0.6).max(1.0),
            esc(&e.node),
            esc(&e.detail)
        );
    }
    // Legend.
    let states: &[(&str, &str)] = if l3 {
        &[
            ("#2e7d32", "announced"),
            ("#c62828", "withdrawn"),
            ("#212121", "node killed"),
            ("#1565c0", "next hop in the FIB"),
        ]
    } else {
        &[
            ("#2e7d32", "MASTER"),
            ("#90a4ae", "BACKUP"),
            ("#c62828", "FAULT"),
            ("#212121", "node killed"),
            ("#1565c0", "holds the VIP"),
        ]
    };
    let items = states.iter().copied().chain([
        ("#43a047", "probe answered"),
        ("#e53935", "probe failed"),
        ("#ffcdd2", "HTTP outage"),
    ]);
    let mut lx = left;
    for (fill, text) in items {
        let _ = writeln!(
            s,
            "<rect x=\"{lx:.1}\" y=\"{legend_y}\" width=\"12\" height=\"12\" fill=\"{fill}\"/><text x=\"{:.1}\" \
             y=\"{}\">{text}</text>",
            lx + 16.0,
            legend_y + 10.0
        );
        lx += 28.0 + text.len() as f64 * 6.5;
    }
    let sources = if l3 {
        "Announcements from `bmnet bgp run --json`; the router's FIB (FRR's zebra installing the ECMP route) from \
         `ip -j route` every 40 ms; the client probes HTTP through the VIP every 50 ms."
    } else {
        "VRRP states from `bmnet vrrp run --json`; VIPs and the client's neighbour entry from `ip -j` every 40 ms; \
         the client probes HTTP every 50 ms and every node's DNS every 250 ms."
    };
    let _ =
        writeln!(s, "<text x=\"{left}\" y=\"{}\" font-size=\"10\" fill=\"#616161\">{sources}</text>", legend_y + 30.0);
    s.push_str("</svg>\n");
    s
}

/// L3 mode: how many next hops the router's FIB has for the API VIP over time (from the
/// masters' `fib` events), each stretch labelled with them when it is wide enough.
fn ecmp_lane(s: &mut String, tl: &Timeline, y: f64, (from, to): (i64, i64), x: &dyn Fn(i64) -> f64) {
    let mut hops: Vec<String> = Vec::new();
    let mut points: Vec<(i64, String)> = Vec::new();
    for e in tl.events.iter().filter(|e| e.kind == "fib" && e.detail.ends_with(tl.api_vip.as_str())) {
        if e.detail.starts_with('+') {
            hops.push(e.node.clone());
            hops.sort();
        } else {
            hops.retain(|n| *n != e.node);
        }
        points.push((e.t_ms, hops.join(" ")));
    }
    for (a, b, set) in segments(&points, "", from, to) {
        let n = set.split_whitespace().count();
        let fill = ["#c62828", "#ef6c00", "#f9a825", "#2e7d32"][n.min(3)];
        let w = (x(b) - x(a)).max(0.5);
        let _ = writeln!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"14\" fill=\"{fill}\" opacity=\"0.85\"><title>{n} \
             paths: {}</title></rect>",
            x(a),
            y + 2.0,
            esc(&set)
        );
        let text = if n == 0 { "withdrawn".into() } else { format!("{n} paths: {}", set.replace(' ', ", ")) };
        let text = if w > 6.0 * text.len() as f64 { text } else { n.to_string() };
        if w > 12.0 {
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"white\" font-size=\"10\">{}</text>",
                x(a) + 4.0,
                y + 13.0,
                esc(&text)
            );
        }
    }
}
