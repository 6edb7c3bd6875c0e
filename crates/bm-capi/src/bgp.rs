//! `bm_bgp_*`: one BGP session (bm-bgp's sans-IO `Session`) as an opaque handle. The caller
//! owns the TCP connection: it connects when told to, reports the connection's events, feeds
//! the bytes it reads and writes the bytes it is given. Times cross the ABI as monotonic
//! nanoseconds (any fixed epoch, e.g. `CLOCK_MONOTONIC`); actions and status come out as JSON.

use std::ffi::{c_char, c_int};

use bm_addr::ipnet::IpNet;
use bm_addr::{HostBits, ParseOptions};
use bm_bgp::bfd::Diag;
use bm_bgp::{Action, Config, ConfigError, Event, Notification, Session, SessionError};
use serde_json::{Value, json};

use crate::ffi::{self, Failure, at, hex};
use crate::vrrp::packet_arg;
use crate::{BM_OK, BM_REJECTED};

/// A BGP session, built by `bm_bgp_new` and freed by `bm_bgp_free`. Not thread-safe: one
/// thread at a time per handle (handles are independent of each other).
pub struct BmBgp {
    session: Session,
}

/// Builds a session (state Idle) from its JSON configuration:
/// `{"local_asn": 64512, "peer_asn": 64513, "router_id": "10.0.0.2", "next_hop_v4":
/// "10.0.0.2"}` with, optionally, `"hold_time": 90` (seconds, 0 or at least 3),
/// `"connect_retry": 120` and `"idle_hold": 5` (seconds, fractions allowed), `"families":
/// [{"afi": 1, "safi": 1}, {"afi": 2, "safi": 1}]`, `"next_hop_v6"`, `"link_local_v6"`,
/// `"local_pref": 100`, `"communities": [4259840100]` (each `asn << 16 | value`),
/// `"large_communities": [{"global": 64512, "local1": 1, "local2": 2}]`, `"route_refresh":
/// true`, `"passive": false` (wait for the peer's connection instead of connecting) and
/// `"graceful_restart": null` (a restart time in seconds to advertise). Unknown fields are
/// refused. A malformed request is status 1, `kind` `invalid_request` or `invalid_json` with
/// the field's `path`; a refused configuration is `kind` `invalid_config` with the field as
/// `path`.
///
/// # Safety
///
/// `config` is NULL or a NUL-terminated string; `out` and `err_json` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_bgp_new(config: *const c_char, out: *mut *mut BmBgp, err_json: *mut *mut c_char) -> c_int {
    if out.is_null() {
        return BM_REJECTED;
    }
    // SAFETY: non-null and writable by the caller's contract.
    unsafe { *out = std::ptr::null_mut() };
    let mut built: Option<Session> = None;
    let call = || {
        // SAFETY: `config` is NULL or a NUL-terminated string, by this function's contract.
        let text = unsafe { ffi::input(config, "config") }?;
        built = Some(session_from(text)?);
        Ok(String::new())
    };
    let mut ok: *mut c_char = std::ptr::null_mut();
    // SAFETY: `ok` is a live local; `err_json` is passed on under this function's contract.
    let status = unsafe { ffi::run(&raw mut ok, err_json, call) };
    // SAFETY: `ok` is NULL or made by `ffi::run`, freed once here.
    unsafe { crate::bm_string_free(ok) };
    if status == BM_OK
        && let Some(session) = built
    {
        // SAFETY: checked non-null above.
        unsafe { *out = Box::into_raw(Box::new(BmBgp { session })) };
    }
    status
}

/// A session from its JSON configuration (see [`bm_bgp_new`]).
pub(crate) fn session_from(text: &str) -> Result<Session, Failure> {
    let config: Config = ffi::request(text)?;
    Session::new(config.clone()).map_err(|e| {
        let f = Failure::rejected("invalid_config", &e);
        match config_error_path(&config, &e) {
            Some(path) => f.with("path", path),
            None => f,
        }
    })
}

/// The field a refused configuration is refused for.
fn config_error_path(config: &Config, e: &ConfigError) -> Option<&'static str> {
    Some(match e {
        ConfigError::ZeroAsn if config.local_asn == 0 => "local_asn",
        ConfigError::ZeroAsn => "peer_asn",
        ConfigError::ZeroRouterId => "router_id",
        ConfigError::HoldTime(_) => "hold_time",
        ConfigError::ZeroTimer if config.connect_retry.is_zero() => "connect_retry",
        ConfigError::ZeroTimer => "idle_hold",
        ConfigError::NoFamily | ConfigError::UnsupportedFamily(_) => "families",
        ConfigError::TooManyCommunities if config.communities.is_empty() => "large_communities",
        ConfigError::TooManyCommunities => "communities",
        ConfigError::RestartTime(_) => "graceful_restart",
        _ => return None,
    })
}

/// Runs `f` on the session with panics contained: its status, 1 for a NULL handle, 2 after a
/// panic.
///
/// # Safety
///
/// `bgp` is NULL or a live handle not used by another thread during the call.
unsafe fn with(bgp: *mut BmBgp, f: impl FnOnce(&mut Session) -> c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { ffi::guarded(bgp, |h| f(&mut h.session)) }
}

/// Runs `f` on the session, its failure (a NULL handle included) written to `err_json` when
/// that is not NULL; panics contained (status 2).
///
/// # Safety
///
/// `bgp` is NULL or a live handle not used by another thread during the call; `err_json` NULL
/// or writable.
unsafe fn with_error(
    bgp: *mut BmBgp,
    err_json: *mut *mut c_char,
    f: impl FnOnce(&mut Session) -> Result<(), Failure>,
) -> c_int {
    // SAFETY: forwarded contract.
    let call = || f(unsafe { session_arg(bgp) }?).map(|()| String::new());
    // SAFETY: `err_json` is NULL or writable by the contract.
    unsafe { ffi::run_optional_error(err_json, call) }
}

/// The session of a handle argument; status 1 with `kind` `null_argument` for NULL.
///
/// # Safety
///
/// `bgp` is NULL or a live handle not used by another thread while the borrow lives.
unsafe fn session_arg<'a>(bgp: *mut BmBgp) -> Result<&'a mut Session, Failure> {
    if bgp.is_null() {
        return Err(Failure::rejected("null_argument", "bgp is NULL").with("path", "bgp"));
    }
    // SAFETY: non-null, live and unshared by the contract.
    Ok(unsafe { &mut (*bgp).session })
}

/// A prefix argument: `192.0.2.10/32`, `2001:db8::10/128`, or an address alone for its host
/// route. Host bits past the prefix length are refused (`10.0.0.5/24`). Status 1 with `kind`
/// `invalid_prefix`, `path` `prefix` and the byte `offset`.
///
/// # Safety
///
/// `p` is NULL or a NUL-terminated string valid for the call.
unsafe fn prefix_arg(p: *const c_char) -> Result<IpNet, Failure> {
    // SAFETY: NULL or NUL-terminated by the contract.
    let text = unsafe { ffi::input(p, "prefix") }?;
    let invalid = |e: bm_addr::ParseError| {
        Failure::rejected("invalid_prefix", format!("{text:?}: {e}")).with("path", "prefix").with("offset", e.offset)
    };
    if text.contains('/') {
        let opts = ParseOptions::strict().host_bits(HostBits::Reject);
        bm_addr::parse_net_with(text, &opts).map(|p| p.net).map_err(invalid)
    } else {
        bm_addr::parse_addr(text).map(IpNet::from).map_err(invalid)
    }
}

/// A refused announcement: `kind` `family_not_configured` or `no_next_hop`, `path` `prefix`.
fn session_failure(e: &SessionError) -> Failure {
    let kind = match e {
        SessionError::FamilyNotConfigured(_) => "family_not_configured",
        SessionError::NoNextHop(_) => "no_next_hop",
        SessionError::ShutdownMessageTooLong(_) => "message_too_long",
        _ => "refused",
    };
    let path = if matches!(e, SessionError::ShutdownMessageTooLong(_)) { "message" } else { "prefix" };
    Failure::rejected(kind, e).with("path", path)
}

/// ManualStart: Idle → Connect (a `connect` action), or Active for a passive session. Does
/// nothing unless Idle.
///
/// # Safety
///
/// `bgp` is NULL or a live handle used by this thread only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_bgp_start(bgp: *mut BmBgp, now_ns: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(bgp, |s| {
            s.start(at(now_ns));
            BM_OK
        })
    }
}

/// The TCP connection is up (the one a `connect` action asked for, or for a passive session
/// the peer's, accepted): OPEN is sent.
///
/// # Safety
///
/// `bgp` is NULL or a live handle used by this thread only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_bgp_tcp_connected(bgp: *mut BmBgp, now_ns: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(bgp, |s| {
            s.tcp_connected(at(now_ns));
            BM_OK
        })
    }
}

/// The connection attempt failed: Active, and another attempt when ConnectRetry expires.
///
/// # Safety
///
/// `bgp` is NULL or a live handle used by this thread only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_bgp_tcp_failed(bgp: *mut BmBgp, now_ns: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(bgp, |s| {
            s.tcp_failed(at(now_ns));
            BM_OK
        })
    }
}

/// The connection closed (by the peer, or an error).
///
/// # Safety
///
/// `bgp` is NULL or a live handle used by this thread only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_bgp_tcp_closed(bgp: *mut BmBgp, now_ns: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(bgp, |s| {
            s.tcp_closed(at(now_ns));
            BM_OK
        })
    }
}

/// Bytes read from the connection (`len` bytes at `bytes`, which may be NULL when `len` is 0),
/// cut anywhere: whole messages are handled, the rest is kept for the next call. Whatever the
/// peer sends is answered by actions (a NOTIFICATION and a close for an error); status 1 only
/// for NULL with a length.
///
/// # Safety
///
/// `bgp` is NULL or a live handle used by this thread only; `bytes` points to `len` readable
/// bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_bgp_handle_bytes(bgp: *mut BmBgp, now_ns: u64, bytes: *const u8, len: usize) -> c_int {
    // SAFETY: `bytes` points to `len` readable bytes by the contract.
    let Some(bytes) = (unsafe { packet_arg(bytes, len) }) else { return BM_REJECTED };
    // SAFETY: forwarded contract.
    unsafe {
        with(bgp, |s| {
            s.handle_bytes(at(now_ns), bytes);
            BM_OK
        })
    }
}

/// Runs the timers due at `now_ns`.
///
/// # Safety
///
/// `bgp` is NULL or a live handle used by this thread only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_bgp_handle_timeout(bgp: *mut BmBgp, now_ns: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(bgp, |s| {
            s.handle_timeout(at(now_ns));
            BM_OK
        })
    }
}

/// Adds `prefix` (see below) to the routes announced, sent at once while Established (and
/// whole on every Established and ROUTE-REFRESH). Announcing a prefix again changes nothing.
/// `prefix` is `192.0.2.10/32`, `2001:db8::10/128` or an address alone for its host route;
/// host bits past the length are refused. Status 1 with `*err_json` (if not NULL): `kind`
/// `invalid_prefix` (with `offset`), `family_not_configured` or `no_next_hop` (no
/// `next_hop_v4` / `next_hop_v6` in the configuration), `path` `prefix`.
///
/// # Safety
///
/// `bgp` is NULL or a live handle used by this thread only; `prefix` NULL or NUL-terminated;
/// `err_json` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_bgp_announce(
    bgp: *mut BmBgp,
    now_ns: u64,
    prefix: *const c_char,
    err_json: *mut *mut c_char,
) -> c_int {
    let announce = |s: &mut Session| {
        // SAFETY: NULL or NUL-terminated by the contract.
        let prefix = unsafe { prefix_arg(prefix) }?;
        s.announce(at(now_ns), prefix).map(|_new| ()).map_err(|e| session_failure(&e))
    };
    // SAFETY: forwarded contract.
    unsafe { with_error(bgp, err_json, announce) }
}

/// Removes `prefix` (as for `bm_bgp_announce`) from the routes announced; the withdrawal is
/// sent at once while Established. Withdrawing a prefix not announced changes nothing. Status
/// 1 with `kind` `invalid_prefix` for a prefix that is none.
///
/// # Safety
///
/// `bgp` is NULL or a live handle used by this thread only; `prefix` NULL or NUL-terminated;
/// `err_json` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_bgp_withdraw(
    bgp: *mut BmBgp,
    now_ns: u64,
    prefix: *const c_char,
    err_json: *mut *mut c_char,
) -> c_int {
    let withdraw = |s: &mut Session| {
        // SAFETY: NULL or NUL-terminated by the contract.
        let prefix = unsafe { prefix_arg(prefix) }?;
        let _was_announced = s.withdraw(at(now_ns), prefix);
        Ok(())
    };
    // SAFETY: forwarded contract.
    unsafe { with_error(bgp, err_json, withdraw) }
}

/// ManualStop: to Idle for good (no automatic restart; `bm_bgp_start` starts it again). With
/// a connection up, a NOTIFICATION Cease/Administrative Shutdown is sent first, with `message`
/// (UTF-8, at most 255 bytes; NULL or empty for none) as its shutdown communication (RFC
/// 9003). Status 1 with `kind` `message_too_long` or `invalid_utf8`, `path` `message`: nothing
/// is done then.
///
/// # Safety
///
/// `bgp` is NULL or a live handle used by this thread only; `message` NULL or NUL-terminated;
/// `err_json` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_bgp_stop(
    bgp: *mut BmBgp,
    now_ns: u64,
    message: *const c_char,
    err_json: *mut *mut c_char,
) -> c_int {
    let stop = |s: &mut Session| {
        let message = if message.is_null() {
            None
        } else {
            // SAFETY: non-null, so NUL-terminated by the contract.
            Some(unsafe { ffi::input(message, "message") }?)
        };
        s.stop(at(now_ns), message).map_err(|e| session_failure(&e))
    };
    // SAFETY: forwarded contract.
    unsafe { with_error(bgp, err_json, stop) }
}

/// BFD saw the path to the peer fail, with `diag` its diagnostic (RFC 5880 §4.1, 0–31; 1 is
/// "control detection time expired"): from OpenSent on, the connection is closed at once
/// without a NOTIFICATION and the session restarts as after any failure; before, nothing
/// changes. Status 1 for a `diag` over 31.
///
/// # Safety
///
/// `bgp` is NULL or a live handle used by this thread only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_bgp_bfd_down(bgp: *mut BmBgp, now_ns: u64, diag: u8) -> c_int {
    if diag > 31 {
        return BM_REJECTED;
    }
    // SAFETY: forwarded contract.
    unsafe {
        with(bgp, |s| {
            s.bfd_down(at(now_ns), Diag::from_code(diag));
            BM_OK
        })
    }
}

/// The next action as JSON in `*action_json` (free it with `bm_string_free`), or NULL when
/// there is none; carry them out in order:
/// `{"action": "connect"}` (open a TCP connection to the peer's port 179, abandoning any
/// attempt in progress, then call `bm_bgp_tcp_connected` or `bm_bgp_tcp_failed`),
/// `{"action": "send", "bytes_hex": "ffff..."}` (write these bytes, whole messages),
/// `{"action": "close"}` (close the connection once what was sent is written), and
/// `{"action": "event", "event": {"event": "state_changed", "from": S, "to": S, "reason":
/// {"kind": ...}}}` (also `notification_sent`, `notification_received`, `update_received` with
/// `announced`, `withdrawn`, `end_of_rib` and `repairs`, `route_refresh_received`). A
/// notification in an event is `{"code": {"code": "cease", "subcode":
/// "administrative_shutdown"}, "error_code": 6, "error_subcode": 2, "data_hex": "...",
/// "shutdown_message": "..."|null, "text": "..."}`.
///
/// # Safety
///
/// `bgp` is NULL or a live handle used by this thread only; `action_json` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_bgp_poll_action(bgp: *mut BmBgp, action_json: *mut *mut c_char) -> c_int {
    if action_json.is_null() {
        return BM_REJECTED;
    }
    // SAFETY: non-null and writable by the contract.
    unsafe { *action_json = std::ptr::null_mut() };
    // SAFETY: forwarded contract.
    unsafe {
        with(bgp, |s| {
            let Some(action) = s.poll_action() else { return BM_OK };
            let text = std::ffi::CString::new(action_value(action).to_string()).unwrap_or_default();
            *action_json = text.into_raw();
            BM_OK
        })
    }
}

/// A NOTIFICATION as JSON: its typed code, the numbers, the data as hex, the shutdown
/// communication and a sentence.
fn notification_value(n: &Notification) -> Value {
    json!({
        "code": n.code, "error_code": n.code.code(), "error_subcode": n.code.subcode(), "data_hex": hex(&n.data),
        "shutdown_message": n.shutdown_message(), "text": n.to_string(),
    })
}

/// An action as JSON (see [`bm_bgp_poll_action`]).
pub(crate) fn action_value(action: Action) -> Value {
    match action {
        Action::Connect => json!({ "action": "connect" }),
        Action::Send { bytes } => json!({ "action": "send", "bytes_hex": hex(&bytes) }),
        Action::Close => json!({ "action": "close" }),
        Action::Event { event } => {
            let event = match event {
                Event::NotificationSent { notification } => {
                    json!({ "event": "notification_sent", "notification": notification_value(&notification) })
                }
                Event::NotificationReceived { notification } => {
                    json!({ "event": "notification_received", "notification": notification_value(&notification) })
                }
                other => json!(other),
            };
            json!({ "action": "event", "event": event })
        }
    }
}

/// When `bm_bgp_handle_timeout` must next run: status 0 with `*at_ns` set, or status 1 when no
/// timer runs (stopped, or Active on a passive session).
///
/// # Safety
///
/// `bgp` is NULL or a live handle used by this thread only; `at_ns` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_bgp_poll_timeout(bgp: *mut BmBgp, at_ns: *mut u64) -> c_int {
    if at_ns.is_null() {
        return BM_REJECTED;
    }
    // SAFETY: forwarded contract.
    unsafe {
        with(bgp, |s| match s.poll_timeout() {
            Some(t) => {
                *at_ns = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX);
                BM_OK
            }
            None => BM_REJECTED,
        })
    }
}

/// The session as JSON (`bm_bgp_status`).
pub(crate) fn session_status(s: &Session, now: std::time::Duration) -> Value {
    let timers: Vec<Value> = s
        .timers()
        .map(|(t, at)| json!({ "timer": t, "due_in_ns": u64::try_from(at.saturating_sub(now).as_nanos()).unwrap_or(u64::MAX) }))
        .collect();
    let routes: Vec<String> = s.routes().map(ToString::to_string).collect();
    json!({
        "state": s.state(), "negotiated": s.negotiated(), "stats": s.stats(), "routes": routes, "timers": timers,
        "config": s.config(),
    })
}

/// The session's state, what was negotiated with the peer (`null` before OpenConfirm:
/// `peer_asn`, `peer_id`, `hold_time`, `families`, `route_refresh`, `peer_open`), its counters
/// (`messages_received`, `updates_received`, `routes_received`, `withdrawals_received`,
/// `notifications_sent`, `established`, ...), the routes announced, the running timers
/// (`due_in_ns` from `now_ns`) and the configuration, as JSON in `*out_json`. A NULL `bgp`
/// is status 1, `kind` `null_argument`.
///
/// # Safety
///
/// `bgp` is NULL or a live handle used by this thread only; `out_json` and `err_json` NULL
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_bgp_status(
    bgp: *mut BmBgp,
    now_ns: u64,
    out_json: *mut *mut c_char,
    err_json: *mut *mut c_char,
) -> c_int {
    // SAFETY: forwarded contract.
    let call = || ffi::to_json(&session_status(unsafe { session_arg(bgp) }?, at(now_ns)));
    // SAFETY: `out_json` and `err_json` are NULL or writable by the contract.
    unsafe { ffi::run(out_json, err_json, call) }
}

/// Frees a session. NULL is ignored.
///
/// # Safety
///
/// `bgp` is NULL or a handle from `bm_bgp_new`, freed once and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_bgp_free(bgp: *mut BmBgp) {
    if !bgp.is_null() {
        // SAFETY: made by Box::into_raw in bm_bgp_new; freed once by the contract.
        drop(unsafe { Box::from_raw(bgp) });
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::{CString, c_char};
    use std::ptr::null_mut;

    use super::*;
    use crate::take_string;

    const NODE: &str = r#"{"local_asn": 64512, "peer_asn": 64513, "router_id": "10.0.0.2", "next_hop_v4": "10.0.0.2"}"#;
    const TOR: &str = r#"{"local_asn": 64513, "peer_asn": 64512, "router_id": "10.0.0.1", "passive": true}"#;
    const S: u64 = 1_000_000_000;

    /// `bm_bgp_new`'s status, handle and error.
    fn new(config: &str) -> (c_int, *mut BmBgp, Option<Value>) {
        let config = CString::new(config).unwrap();
        let (mut h, mut err) = (null_mut(), null_mut());
        // SAFETY: a NUL-terminated config and writable slots.
        let status = unsafe { bm_bgp_new(config.as_ptr(), &mut h, &mut err) };
        (status, h, take_string(err).map(|e| serde_json::from_str(&e).unwrap()))
    }

    fn session(config: &str) -> *mut BmBgp {
        let (status, h, err) = new(config);
        assert_eq!(status, BM_OK, "{err:?}");
        h
    }

    /// An error object of a failed `bm_bgp_new`.
    fn refused(config: &str) -> Value {
        let (status, h, err) = new(config);
        assert_eq!((status, h), (BM_REJECTED, null_mut()), "{config}");
        err.unwrap()
    }

    fn status(h: *mut BmBgp) -> Value {
        let (mut out, mut err) = (null_mut(), null_mut());
        // SAFETY: a live handle and writable slots.
        assert_eq!(unsafe { bm_bgp_status(h, 0, &mut out, &mut err) }, BM_OK);
        serde_json::from_str(&take_string(out).unwrap()).unwrap()
    }

    /// `f`'s status and error object, for the calls that write one.
    fn error_of(f: impl FnOnce(*mut *mut c_char) -> c_int) -> (c_int, Option<Value>) {
        let mut err = null_mut();
        let status = f(&mut err);
        (status, take_string(err).map(|e| serde_json::from_str(&e).unwrap()))
    }

    fn hex_bytes(hex: &str) -> Vec<u8> {
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
    }

    /// Carries out `from`'s actions towards `to` (a connect is the one connection between
    /// them); returns them.
    fn drain(now: u64, from: *mut BmBgp, to: *mut BmBgp) -> Vec<Value> {
        let mut actions = Vec::new();
        loop {
            let mut a = null_mut();
            // SAFETY: live handles and a writable slot; bytes from a live Vec.
            unsafe {
                assert_eq!(bm_bgp_poll_action(from, &mut a), BM_OK);
                let Some(text) = take_string(a) else { return actions };
                let action: Value = serde_json::from_str(&text).unwrap();
                match action["action"].as_str().unwrap() {
                    "connect" => {
                        assert_eq!(bm_bgp_tcp_connected(from, now), BM_OK);
                        assert_eq!(bm_bgp_tcp_connected(to, now), BM_OK);
                    }
                    "send" => {
                        let bytes = hex_bytes(action["bytes_hex"].as_str().unwrap());
                        assert_eq!(bm_bgp_handle_bytes(to, now, bytes.as_ptr(), bytes.len()), BM_OK);
                    }
                    "close" | "event" => {}
                    other => panic!("unknown action {other}"),
                }
                actions.push(action);
            }
        }
    }

    fn events<'a>(actions: &'a [Value], name: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        actions.iter().filter(move |a| a["action"] == "event" && a["event"]["event"] == name).map(|a| &a["event"])
    }

    #[test]
    fn two_sessions_exchange_a_route_and_a_cease() {
        let (node, tor) = (session(NODE), session(TOR));
        let announce = |h, now, prefix: &str| {
            let prefix = CString::new(prefix).unwrap();
            // SAFETY: a live handle and a NUL-terminated prefix; NULL err_json is allowed.
            unsafe { bm_bgp_announce(h, now, prefix.as_ptr(), null_mut()) }
        };
        assert_eq!(announce(node, 0, "192.0.2.10/32"), BM_OK);
        // SAFETY: live handles.
        unsafe {
            assert_eq!(bm_bgp_start(node, 0), BM_OK);
            assert_eq!(bm_bgp_start(tor, 0), BM_OK);
        }
        for _ in 0..6 {
            drain(S, node, tor);
            drain(S, tor, node);
        }
        let (n, t) = (status(node), status(tor));
        assert_eq!((&n["state"], &t["state"]), (&json!("established"), &json!("established")), "{n} {t}");
        assert_eq!(t["stats"]["routes_received"], 1, "{t}");
        assert_eq!(n["negotiated"]["peer_asn"], 64513, "{n}");
        assert_eq!(n["routes"], json!(["192.0.2.10/32"]));
        assert!(n["timers"].as_array().unwrap().iter().any(|t| t["timer"] == "keepalive"), "{n}");
        // An address alone is its host route, sent at once while Established.
        assert_eq!(announce(node, 2 * S, "192.0.2.11"), BM_OK);
        drain(2 * S, node, tor);
        assert_eq!(status(tor)["stats"]["routes_received"], 2);

        let message = c"maintenance";
        // SAFETY: a live handle, a NUL-terminated message; NULL err_json is allowed.
        assert_eq!(unsafe { bm_bgp_stop(node, 3 * S, message.as_ptr(), null_mut()) }, BM_OK);
        let sent = drain(3 * S, node, tor);
        let cease = events(&sent, "notification_sent").next().expect("a NOTIFICATION sent");
        assert_eq!(cease["notification"]["code"], json!({"code": "cease", "subcode": "administrative_shutdown"}));
        assert_eq!(
            (&cease["notification"]["error_code"], &cease["notification"]["error_subcode"]),
            (&json!(6), &json!(2))
        );
        assert!(sent.iter().any(|a| a["action"] == "close"), "{sent:?}");
        let received = drain(3 * S, tor, node);
        let got = events(&received, "notification_received").next().expect("the Cease arrives");
        assert_eq!(got["notification"]["shutdown_message"], "maintenance", "{got}");
        assert_eq!(got["notification"]["data_hex"], "0b6d61696e74656e616e6365");
        assert_eq!((status(node)["state"].as_str(), status(tor)["state"].as_str()), (Some("idle"), Some("idle")));
        let mut at = 0;
        // SAFETY: a live handle and a writable slot.
        assert_eq!(unsafe { bm_bgp_poll_timeout(node, &mut at) }, BM_REJECTED, "stopped: no timer");
        // SAFETY: handles from bm_bgp_new, freed once.
        unsafe {
            bm_bgp_free(node);
            bm_bgp_free(tor);
        }
    }

    /// Every error names the field or argument it is about.
    #[test]
    fn refused_configurations_name_their_field() {
        let e = refused(r#"{"local_asn": "x", "peer_asn": 1, "router_id": "10.0.0.2"}"#);
        assert_eq!((&e["kind"], &e["path"]), (&json!("invalid_request"), &json!("local_asn")), "{e}");
        let e = refused(r#"{"local_asn": 1, "peer_asn": 2, "router_id": "10.0.0.2", "hold": 9}"#);
        assert_eq!(e["kind"], "invalid_request", "{e}");
        assert!(e["message"].as_str().unwrap().contains("unknown field `hold`"), "{e}");
        let e = refused(r#"{"local_asn": 1, "peer_asn": 2, "router_id": "10.0.0.2", "families": [{"afi": 1}]}"#);
        assert_eq!(e["path"], "families[0]", "{e}");
        let e = refused(r#"{"local_asn": 1, "peer_asn": 2, "router_id": "10.0.0.2", "connect_retry": -1}"#);
        assert_eq!(e["path"], "connect_retry", "{e}");
        let e = refused("{\"local_asn\": 1,\n \"peer_asn\": }");
        assert_eq!((&e["kind"], &e["line"]), (&json!("invalid_json"), &json!(2)), "{e}");
        for (config, path) in [
            (r#"{"local_asn": 0, "peer_asn": 2, "router_id": "10.0.0.2"}"#, "local_asn"),
            (r#"{"local_asn": 1, "peer_asn": 0, "router_id": "10.0.0.2"}"#, "peer_asn"),
            (r#"{"local_asn": 1, "peer_asn": 2, "router_id": "0.0.0.0"}"#, "router_id"),
            (r#"{"local_asn": 1, "peer_asn": 2, "router_id": "10.0.0.2", "hold_time": 2}"#, "hold_time"),
            (r#"{"local_asn": 1, "peer_asn": 2, "router_id": "10.0.0.2", "idle_hold": 0}"#, "idle_hold"),
            (r#"{"local_asn": 1, "peer_asn": 2, "router_id": "10.0.0.2", "families": []}"#, "families"),
            (
                r#"{"local_asn": 1, "peer_asn": 2, "router_id": "10.0.0.2", "graceful_restart": 5000}"#,
                "graceful_restart",
            ),
        ] {
            let e = refused(config);
            assert_eq!((&e["kind"], &e["path"]), (&json!("invalid_config"), &json!(path)), "{config}: {e}");
        }
        let many: Vec<u32> = (0..600).collect();
        let e = refused(&format!(
            r#"{{"local_asn": 1, "peer_asn": 2, "router_id": "10.0.0.2", "communities": {}}}"#,
            json!(many)
        ));
        assert_eq!(e["path"], "communities", "{e}");
    }

    #[test]
    fn null_pointers_are_refused() {
        let h = session(NODE);
        let p = c"192.0.2.10/32";
        let mut slot: *mut c_char = null_mut();
        let mut at = 0u64;
        // SAFETY: every pointer is NULL, a live local or a live handle.
        unsafe {
            let mut out = null_mut();
            let mut err = null_mut();
            assert_eq!(bm_bgp_new(std::ptr::null(), &mut out, &mut err), BM_REJECTED);
            let e: Value = serde_json::from_str(&take_string(err).unwrap()).unwrap();
            assert_eq!((&e["kind"], &e["path"]), (&json!("null_argument"), &json!("config")));
            assert_eq!(bm_bgp_new(p.as_ptr(), null_mut(), null_mut()), BM_REJECTED);
            err = null_mut();
            let null: *mut BmBgp = null_mut();
            for status in [
                bm_bgp_start(null, 0),
                bm_bgp_tcp_connected(null, 0),
                bm_bgp_tcp_failed(null, 0),
                bm_bgp_tcp_closed(null, 0),
                bm_bgp_handle_timeout(null, 0),
                bm_bgp_handle_bytes(null, 0, std::ptr::null(), 0),
                bm_bgp_bfd_down(null, 0, 1),
                bm_bgp_poll_action(null, &mut slot),
                bm_bgp_poll_timeout(null, &mut at),
                bm_bgp_poll_action(h, null_mut()),
                bm_bgp_poll_timeout(h, null_mut()),
                bm_bgp_status(h, 0, null_mut(), null_mut()),
                bm_bgp_handle_bytes(h, 0, std::ptr::null(), 3),
                bm_bgp_bfd_down(h, 0, 32),
            ] {
                assert_eq!(status, BM_REJECTED);
            }
            assert!(slot.is_null() && err.is_null());
            assert_eq!(bm_bgp_status(null, 0, &mut slot, &mut err), BM_REJECTED);
            let e: Value = serde_json::from_str(&take_string(err).unwrap()).unwrap();
            assert_eq!((slot, &e["kind"], &e["path"]), (null_mut(), &json!("null_argument"), &json!("bgp")));
            let (status, e) = error_of(|err| bm_bgp_announce(null, 0, p.as_ptr(), err));
            assert_eq!((status, &e.unwrap()["path"]), (BM_REJECTED, &json!("bgp")));
            let (status, e) = error_of(|err| bm_bgp_announce(h, 0, std::ptr::null(), err));
            let e = e.unwrap();
            assert_eq!((status, &e["kind"], &e["path"]), (BM_REJECTED, &json!("null_argument"), &json!("prefix")));
            let (status, e) = error_of(|err| bm_bgp_withdraw(null, 0, p.as_ptr(), err));
            assert_eq!((status, &e.unwrap()["kind"]), (BM_REJECTED, &json!("null_argument")));
            let (status, e) = error_of(|err| bm_bgp_stop(null, 0, std::ptr::null(), err));
            assert_eq!((status, &e.unwrap()["path"]), (BM_REJECTED, &json!("bgp")));
            // NULL is no message, and with no connection no NOTIFICATION.
            assert_eq!(error_of(|err| bm_bgp_stop(h, 0, std::ptr::null(), err)), (BM_OK, None));
            assert_eq!(bm_bgp_handle_bytes(h, 0, std::ptr::null(), 0), BM_OK);
            bm_bgp_free(h);
            bm_bgp_free(null);
        }
    }

    #[test]
    fn bad_prefixes_and_messages_are_refused_with_their_place() {
        let h = session(r#"{"local_asn": 1, "peer_asn": 2, "router_id": "10.0.0.2", "next_hop_v4": "10.0.0.2"}"#);
        let v4 = session(
            r#"{"local_asn": 1, "peer_asn": 2, "router_id": "10.0.0.2", "next_hop_v4": "10.0.0.2",
            "next_hop_v6": "2001:db8::2", "families": [{"afi": 1, "safi": 1}]}"#,
        );
        let call = |h: *mut BmBgp,
                    f: unsafe extern "C" fn(*mut BmBgp, u64, *const c_char, *mut *mut c_char) -> c_int,
                    arg: &[u8]| {
            let arg = CString::new(arg).unwrap();
            // SAFETY: a live handle, a NUL-terminated argument and a writable slot.
            error_of(|err| unsafe { f(h, 0, arg.as_ptr(), err) })
        };
        for (prefix, offset) in [("192.0.2.300/32", 8), ("10.0.0.5/24", 9), ("192.0.2.1/33", 10), ("nope", 0), ("", 0)]
        {
            for f in [bm_bgp_announce, bm_bgp_withdraw] {
                let (status, e) = call(h, f, prefix.as_bytes());
                let e = e.unwrap();
                assert_eq!(status, BM_REJECTED, "{prefix}");
                assert_eq!((&e["kind"], &e["path"]), (&json!("invalid_prefix"), &json!("prefix")), "{prefix}: {e}");
                assert_eq!(e["offset"], offset, "{prefix}: {e}");
            }
        }
        let e = call(h, bm_bgp_announce, b"2001:db8::10/128").1.unwrap();
        assert_eq!((&e["kind"], &e["path"]), (&json!("no_next_hop"), &json!("prefix")));
        let (_, e) = call(v4, bm_bgp_announce, b"2001:db8::10/128");
        assert_eq!(e.unwrap()["kind"], "family_not_configured");
        let (_, e) = call(h, bm_bgp_announce, b"\xff/32");
        assert_eq!(e.unwrap()["kind"], "invalid_utf8");
        assert_eq!(call(h, bm_bgp_announce, b"2001:db8::10/128").0, BM_REJECTED);
        assert_eq!(status(h)["routes"], json!([]), "nothing refused was kept");
        assert_eq!(call(h, bm_bgp_withdraw, b"192.0.2.99/32"), (BM_OK, None), "not announced: nothing to do");

        let (status, e) = call(h, bm_bgp_stop, "x".repeat(256).as_bytes());
        let e = e.unwrap();
        assert_eq!((status, &e["kind"], &e["path"]), (BM_REJECTED, &json!("message_too_long"), &json!("message")));
        let (_, e) = call(h, bm_bgp_stop, b"caf\xe9");
        assert_eq!(e.unwrap()["path"], "message");
        assert_eq!(call(h, bm_bgp_stop, "x".repeat(255).as_bytes()), (BM_OK, None));
        // SAFETY: handles from bm_bgp_new, freed once.
        unsafe {
            bm_bgp_free(h);
            bm_bgp_free(v4);
        }
    }
}
