//! `[bond]`: each option and value as NetworkManager validates it, the mode it falls back to,
//! options the mode does not support (removed), and options that contradict each other.

use super::{Checker, Help};
use crate::diag::Code;
use crate::profile::{BOND_MODES, BondDrop};
use crate::schema::{BOND_OPTIONS, BondValue, bond_option_unsupported_in, distance};

pub(super) fn check(c: &mut Checker<'_>) {
    const G: &str = "bond";
    let load = c.load;
    let Some(bond) = &load.profile.bond else { return };
    // Options NetworkManager drops.
    for (e, value, why) in &load.bond_dropped {
        let key = e.key;
        if *why == BondDrop::Unknown {
            let best = BOND_OPTIONS.iter().map(|(n, _)| (distance(key, n), *n)).min();
            let d = c.on_key(
                Code::BondOptionInvalid,
                e,
                format!("ignoring invalid bond option \"{key}\": invalid option '{key}'"),
            );
            if let Some((dist, n)) = best
                && dist <= 2
            {
                d.help(format!("did you mean `{n}`?"));
            }
            continue;
        }
        let d = c.on_value(
            Code::BondOptionInvalid,
            e,
            format!(
                "ignoring invalid bond option \"{key}\" = \"{value}\": invalid value '{value}' for option '{key}'{}",
                if key == "mode" { ": the bond falls back to balance-rr" } else { "" }
            ),
        );
        if key == "mode" {
            match value.as_str() {
                "lacp" | "LACP" | "4" | "802.3AD" => d.help("write `mode=802.3ad`"),
                _ => d.help(format!("one of: {}", BOND_MODES.join(", "))),
            }
        } else if let Some((_, BondValue::Choice(_, _, names))) = BOND_OPTIONS.iter().find(|(n, _)| *n == key) {
            d.help(format!("one of: {}", names.join(", ")));
        }
    }
    // The options NetworkManager keeps (the mode it falls back to aside).
    let kept = &bond.options;
    let get = |k: &str| kept.get(k).map(String::as_str);
    if !c.written(G, "mode") {
        c.at_group(Code::BondModeMissing, G, "no `mode`: the bond is balance-rr")
            .help("say `mode=` explicitly (802.3ad, active-backup, …)");
    }
    let mode_index = bond.mode_index();
    let mode = bond.mode();
    let num = |k: &str| get(k).and_then(|v| v.parse::<u64>().ok());

    // Contradictions NetworkManager refuses (verify), checked before normalisation.
    let arp_interval = num("arp_interval").unwrap_or(0);
    let miimon = num("miimon").unwrap_or(if arp_interval > 0 { 0 } else { 100 });
    for k in ["updelay", "downdelay", "peer_notif_delay"] {
        if num(k).unwrap_or(0) > 0 && miimon == 0 {
            c.at_value(
                Code::BondOptionConflict,
                G,
                k,
                format!("bond.options: '{k}' option requires 'miimon' option to be enabled"),
            );
        }
    }
    if let Some(rate) = get("lacp_rate")
        && mode != "802.3ad"
        && !matches!(rate, "slow" | "0")
    {
        c.at_value(
            Code::BondOptionConflict,
            G,
            "lacp_rate",
            format!("bond.options: 'lacp_rate' option is only valid with mode '802.3ad' (this bond is {mode})"),
        );
    }
    if get("primary").is_some() && !matches!(mode, "active-backup" | "balance-tlb" | "balance-alb") {
        c.at_value(
            Code::BondOptionConflict,
            G,
            "primary",
            format!("bond.options: 'primary' option is only valid for 'mode=active-backup' (this bond is {mode})"),
        );
    }
    if arp_interval > 0 && matches!(mode, "balance-tlb" | "balance-alb") {
        c.at_value(
            Code::BondOptionConflict,
            G,
            "arp_interval",
            format!("bond.options: 'mode={mode}' is incompatible with 'arp_interval > 0'"),
        );
    }
    let supports_arp = !matches!(mode, "802.3ad" | "balance-tlb" | "balance-alb");
    if supports_arp {
        if arp_interval > 0 && get("arp_ip_target").is_none_or(str::is_empty) {
            c.at_value(
                Code::BondOptionConflict,
                G,
                "arp_interval",
                "bond.options: 'arp_interval' option requires 'arp_ip_target' or 'ns_ip6_target'option to be set",
            );
        }
        if get("arp_ip_target").is_some_and(|t| !t.is_empty()) && arp_interval == 0 {
            c.at_value(
                Code::BondOptionConflict,
                G,
                "arp_ip_target",
                "bond.options: 'arp_ip_target' option requires 'arp_interval' option to be set",
            );
        }
    }
    if let (Some(a), Some(b)) = (num("num_grat_arp"), num("num_unsol_na"))
        && a != b
    {
        c.at_value(
            Code::BondOptionConflict,
            G,
            "num_unsol_na",
            "bond.options: 'num_grat_arp' and 'num_unsol_na' cannot have different values",
        );
    }

    // Normalisation: options the mode does not support are removed, silently.
    for (k, v) in kept {
        if bond_option_unsupported_in(k, mode_index) && !(k == "lacp_rate" && matches!(v.as_str(), "slow" | "0")) {
            let refused_above = k == "arp_interval" && matches!(mode, "balance-tlb" | "balance-alb");
            if k == "lacp_rate" || k == "primary" || refused_above {
                continue; // refused above
            }
            c.at_key(
                Code::BondOptionRemoved,
                G,
                k,
                format!("'{k}' option is not valid with mode '{mode}': NetworkManager removes it"),
            );
        }
    }
    if get("xmit_hash_policy").is_some() && !matches!(mode, "balance-xor" | "802.3ad" | "balance-tlb") {
        c.at_key(
            Code::BondOptionIgnored,
            G,
            "xmit_hash_policy",
            format!("xmit_hash_policy has no effect in mode {mode} (the kernel ignores it)"),
        );
    }
}
