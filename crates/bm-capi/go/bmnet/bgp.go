package bmnet

/*
#include <stdint.h>
#include <stdlib.h>
#include "bmnet.h"
*/
import "C"

import (
	"encoding/hex"
	"encoding/json"
	"runtime"
	"time"
	"unsafe"
)

// BGPSession is one BGP session to one peer (bm-bgp's sans-IO core): the caller owns the TCP
// connection, feeds it time, connection events and received bytes, and carries out its
// actions. Not safe for concurrent use; Close frees it (a finalizer does too). Times are
// durations since any fixed epoch of a monotonic clock.
type BGPSession struct {
	p *C.bm_bgp_t
}

// BGPAction is one thing the session asks for, to carry out in order: Action is "connect"
// (open a TCP connection to the peer, then call TCPConnected or TCPFailed), "send" (write
// Bytes), "close" (close the connection once what was sent is written) or "event" (Event
// says what happened).
type BGPAction struct {
	Action   string    `json:"action"`
	BytesHex string    `json:"bytes_hex,omitempty"`
	Bytes    []byte    `json:"-"`
	Event    *BGPEvent `json:"event,omitempty"`
}

// BGPEvent is something that happened: Event is "state_changed" (From, To, Reason),
// "notification_sent" or "notification_received" (Notification), "update_received"
// (Announced, Withdrawn, EndOfRIB, Repairs) or "route_refresh_received" (Family).
type BGPEvent struct {
	Event        string           `json:"event"`
	From         string           `json:"from,omitempty"`
	To           string           `json:"to,omitempty"`
	Reason       json.RawMessage  `json:"reason,omitempty"` // {"kind": "started"|"tcp_connected"|..., ...}
	Notification *BGPNotification `json:"notification,omitempty"`
	Announced    int              `json:"announced,omitempty"`
	Withdrawn    int              `json:"withdrawn,omitempty"`
	EndOfRIB     *BGPFamily       `json:"end_of_rib,omitempty"`
	Repairs      json.RawMessage  `json:"repairs,omitempty"`
	Family       *BGPFamily       `json:"family,omitempty"`
}

// BGPNotification is a NOTIFICATION: its code by name ({"code": "cease", "subcode":
// "administrative_shutdown"}) and number, its data, the shutdown communication of a Cease
// (RFC 9003) and a sentence for logs.
type BGPNotification struct {
	Code            json.RawMessage `json:"code"`
	ErrorCode       uint8           `json:"error_code"`
	ErrorSubcode    uint8           `json:"error_subcode"`
	DataHex         string          `json:"data_hex"`
	ShutdownMessage *string         `json:"shutdown_message"`
	Text            string          `json:"text"`
}

// BGPFamily is an address family: AFI 1 IPv4 or 2 IPv6, SAFI 1 unicast.
type BGPFamily struct {
	AFI  uint16 `json:"afi"`
	SAFI uint8  `json:"safi"`
}

// BGPStats are a session's counters.
type BGPStats struct {
	MessagesReceived      uint64 `json:"messages_received"`
	MessagesSent          uint64 `json:"messages_sent"`
	UpdatesReceived       uint64 `json:"updates_received"`
	UpdatesSent           uint64 `json:"updates_sent"`
	RoutesReceived        uint64 `json:"routes_received"`
	WithdrawalsReceived   uint64 `json:"withdrawals_received"`
	TreatAsWithdraw       uint64 `json:"treat_as_withdraw"`
	AttributesDiscarded   uint64 `json:"attributes_discarded"`
	NotificationsSent     uint64 `json:"notifications_sent"`
	NotificationsReceived uint64 `json:"notifications_received"`
	Established           uint64 `json:"established"`
	EncodeErrors          uint64 `json:"encode_errors"`
}

// BGPNegotiated is what the session agreed with the peer when its OPEN was accepted.
type BGPNegotiated struct {
	PeerASN      uint32          `json:"peer_asn"`
	PeerID       string          `json:"peer_id"`
	HoldTime     uint16          `json:"hold_time"` // seconds; 0: no keepalives
	Families     []BGPFamily     `json:"families"`
	RouteRefresh bool            `json:"route_refresh"`
	PeerOpen     json.RawMessage `json:"peer_open"`
}

// BGPStatus is a session's state ("idle", "connect", "active", "open_sent", "open_confirm",
// "established"), what was negotiated (nil before OpenConfirm), its counters, the routes it
// announces, its running timers and its configuration.
type BGPStatus struct {
	State      string         `json:"state"`
	Negotiated *BGPNegotiated `json:"negotiated"`
	Stats      BGPStats       `json:"stats"`
	Routes     []string       `json:"routes"`
	Timers     []struct {
		Timer   string `json:"timer"`
		DueInNs uint64 `json:"due_in_ns"`
	} `json:"timers"`
	Config json.RawMessage `json:"config"`
}

// NewBGPSession builds a session (Idle) from its JSON configuration: local_asn, peer_asn,
// router_id, and optionally next_hop_v4 / next_hop_v6 (needed to announce that family),
// hold_time, connect_retry and idle_hold (seconds), families, local_pref, communities,
// large_communities, route_refresh, passive and graceful_restart. Unknown fields are refused;
// an *Error's Path names the field at fault.
func NewBGPSession(configJSON string) (*BGPSession, error) {
	if abiErr != nil {
		return nil, abiErr
	}
	cin := C.CString(configJSON)
	defer C.free(unsafe.Pointer(cin))
	var p *C.bm_bgp_t
	var cerr *C.char
	rc := int(C.bm_bgp_new(cin, &p, &cerr))
	defer C.bm_string_free(cerr)
	if rc != StatusOK {
		return nil, decodeError(rc, cerr)
	}
	s := &BGPSession{p: p}
	runtime.SetFinalizer(s, (*BGPSession).Close)
	return s, nil
}

// Close frees the session.
func (s *BGPSession) Close() {
	if s.p != nil {
		C.bm_bgp_free(s.p)
		s.p = nil
	}
}

// Start starts the session: a "connect" action, or for a passive session waiting for the
// peer's connection.
func (s *BGPSession) Start(now time.Duration) { C.bm_bgp_start(s.p, ns(now)) }

// TCPConnected reports the connection up (asked for by "connect", or accepted for a passive
// session): OPEN is sent.
func (s *BGPSession) TCPConnected(now time.Duration) { C.bm_bgp_tcp_connected(s.p, ns(now)) }

// TCPFailed reports that the connection attempt failed.
func (s *BGPSession) TCPFailed(now time.Duration) { C.bm_bgp_tcp_failed(s.p, ns(now)) }

// TCPClosed reports that the connection closed (by the peer, or an error).
func (s *BGPSession) TCPClosed(now time.Duration) { C.bm_bgp_tcp_closed(s.p, ns(now)) }

// HandleTimeout runs the timers due at now.
func (s *BGPSession) HandleTimeout(now time.Duration) { C.bm_bgp_handle_timeout(s.p, ns(now)) }

// HandleBytes gives the session bytes read from the connection, cut anywhere.
func (s *BGPSession) HandleBytes(now time.Duration, data []byte) {
	var ptr *C.uint8_t
	if len(data) > 0 {
		ptr = (*C.uint8_t)(unsafe.Pointer(&data[0]))
	}
	C.bm_bgp_handle_bytes(s.p, ns(now), ptr, C.size_t(len(data)))
}

type prefixFn func(*C.bm_bgp_t, C.uint64_t, *C.char, **C.char) C.int

func (s *BGPSession) prefixCall(f prefixFn, now time.Duration, prefix string) error {
	cprefix := C.CString(prefix)
	defer C.free(unsafe.Pointer(cprefix))
	var cerr *C.char
	rc := int(f(s.p, ns(now), cprefix, &cerr))
	defer C.bm_string_free(cerr)
	if rc != StatusOK {
		return decodeError(rc, cerr)
	}
	return nil
}

func announceFn(p *C.bm_bgp_t, now C.uint64_t, prefix *C.char, err **C.char) C.int {
	return C.bm_bgp_announce(p, now, prefix, err)
}

func withdrawFn(p *C.bm_bgp_t, now C.uint64_t, prefix *C.char, err **C.char) C.int {
	return C.bm_bgp_withdraw(p, now, prefix, err)
}

// Announce adds a prefix ("192.0.2.10/32", or an address alone for its host route) to the
// routes announced, sent at once while Established. An *Error says what is wrong:
// "invalid_prefix", "family_not_configured" or "no_next_hop".
func (s *BGPSession) Announce(now time.Duration, prefix string) error {
	return s.prefixCall(announceFn, now, prefix)
}

// Withdraw removes a prefix from the routes announced; the withdrawal is sent at once while
// Established. Withdrawing a prefix not announced does nothing.
func (s *BGPSession) Withdraw(now time.Duration, prefix string) error {
	return s.prefixCall(withdrawFn, now, prefix)
}

// Stop takes the session down for good (Start starts it again): with a connection up, a
// NOTIFICATION Cease/Administrative Shutdown carries message (at most 255 bytes; "" for
// none) as its shutdown communication.
func (s *BGPSession) Stop(now time.Duration, message string) error {
	var cmsg *C.char
	if message != "" {
		cmsg = C.CString(message)
		defer C.free(unsafe.Pointer(cmsg))
	}
	var cerr *C.char
	rc := int(C.bm_bgp_stop(s.p, ns(now), cmsg, &cerr))
	defer C.bm_string_free(cerr)
	if rc != StatusOK {
		return decodeError(rc, cerr)
	}
	return nil
}

// BFDDown reports that BFD saw the path to the peer fail, with its diagnostic (RFC 5880,
// 0-31; 1 is "control detection time expired"): the connection is closed at once.
func (s *BGPSession) BFDDown(now time.Duration, diag uint8) error {
	if rc := int(C.bm_bgp_bfd_down(s.p, ns(now), C.uint8_t(diag))); rc != StatusOK {
		return &Error{Status: rc, Kind: "invalid_diag", Message: "a BFD diagnostic is 0 to 31"}
	}
	return nil
}

// PollAction returns the next action, or nil.
func (s *BGPSession) PollAction() (*BGPAction, error) {
	var a *C.char
	if rc := int(C.bm_bgp_poll_action(s.p, &a)); rc != StatusOK {
		return nil, &Error{Status: rc, Kind: "internal", Message: "bm_bgp_poll_action failed"}
	}
	if a == nil {
		return nil, nil
	}
	defer C.bm_string_free(a)
	act := &BGPAction{}
	if err := json.Unmarshal([]byte(C.GoString(a)), act); err != nil {
		return nil, err
	}
	if act.BytesHex != "" {
		b, err := hex.DecodeString(act.BytesHex)
		if err != nil {
			return nil, err
		}
		act.Bytes = b
	}
	return act, nil
}

// PollTimeout returns when HandleTimeout must next run, and false when no timer runs.
func (s *BGPSession) PollTimeout() (time.Duration, bool) {
	var at C.uint64_t
	if int(C.bm_bgp_poll_timeout(s.p, &at)) != StatusOK {
		return 0, false
	}
	return time.Duration(at), true
}

// Status returns the session's state, negotiation, counters, routes and timers (due from
// now).
func (s *BGPSession) Status(now time.Duration) (*BGPStatus, error) {
	var out, cerr *C.char
	rc := int(C.bm_bgp_status(s.p, ns(now), &out, &cerr))
	defer C.bm_string_free(out)
	defer C.bm_string_free(cerr)
	if rc != StatusOK {
		return nil, decodeError(rc, cerr)
	}
	return decode[BGPStatus]([]byte(C.GoString(out)), nil)
}
