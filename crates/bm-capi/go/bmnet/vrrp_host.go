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
	"fmt"
	"runtime"
	"time"
	"unsafe"
)

// VRRPHost is every VRRP instance of one host behind one handle (bm-vrrp's Router): received
// adverts are handed to the instance they are for by interface, family, VRID and source;
// link and check changes reach the instances they concern; actions come out tagged with
// their instance. A Go daemon then only does the I/O. Interfaces are whatever numbers the
// caller names its links by (ifindexes, say). Not safe for concurrent use; Close frees it (a
// finalizer does too).
//
// The drain rule: after every call that takes a time, call PollAction until it returns nil,
// carry out each action and report sends and VIP changes back (ReportSend, ReportVIPs); then
// wait until PollTimeout, the next packet or the next event, and call HandleTimeout.
type VRRPHost struct {
	p *C.bm_vrrp_router_t
}

// HostAction is a VRRPAction of one instance.
type HostAction struct {
	VRRPAction
	Instance int `json:"instance"`
}

// Routed says what happened to a received advert: Outcome is "accepted", "dropped", "own" or
// "no_instance". A dropped one has Drop (the reason's kind, e.g. "not_a_peer"), Message, and
// Report set when it deserves a log line (floods get few).
type Routed struct {
	Outcome  string          `json:"outcome"`
	Instance int             `json:"instance"`
	VRID     *int            `json:"vrid"`
	Drop     string          `json:"drop"`
	Message  string          `json:"message"`
	Reason   json.RawMessage `json:"reason"`
	Report   *struct {
		Suppressed          uint64 `json:"suppressed"`
		SuppressedElsewhere uint64 `json:"suppressed_elsewhere"`
	} `json:"report"`
}

// NewVRRPHost builds a host without instances.
func NewVRRPHost() *VRRPHost {
	var p *C.bm_vrrp_router_t
	if int(C.bm_vrrp_router_new(&p)) != StatusOK {
		panic("bmnet: bm_vrrp_router_new failed with a valid pointer")
	}
	h := &VRRPHost{p: p}
	runtime.SetFinalizer(h, (*VRRPHost).Close)
	return h
}

// Close frees the host.
func (h *VRRPHost) Close() {
	if h.p != nil {
		C.bm_vrrp_router_free(h.p)
		h.p = nil
	}
}

// Add adds an instance running on interface, configured as for NewRouter (JSON) or with
// keepalived.conf text; it returns the instance's id (0, 1, ... in the order added). Another
// instance running its VRID on the same interface and family is refused (Kind "duplicate")
// unless their unicast peers tell them apart.
func (h *VRRPHost) Add(iface uint32, config string) (int, error) {
	if abiErr != nil {
		return 0, abiErr
	}
	cin := C.CString(config)
	defer C.free(unsafe.Pointer(cin))
	var id C.uint32_t
	var cerr *C.char
	rc := int(C.bm_vrrp_router_add(h.p, C.uint32_t(iface), cin, &id, &cerr))
	defer C.bm_string_free(cerr)
	if rc != StatusOK {
		return 0, decodeError(rc, cerr)
	}
	return int(id), nil
}

// Start starts every instance.
func (h *VRRPHost) Start(now time.Duration) { C.bm_vrrp_router_start(h.p, ns(now)) }

// Shutdown stops every instance gracefully (masters resign with priority 0).
func (h *VRRPHost) Shutdown(now time.Duration) { C.bm_vrrp_router_shutdown(h.p, ns(now)) }

// HandleTimeout runs the timers due at now.
func (h *VRRPHost) HandleTimeout(now time.Duration) { C.bm_vrrp_router_handle_timeout(h.p, ns(now)) }

// PollTimeout returns when HandleTimeout must next run, and false when no timer runs.
func (h *VRRPHost) PollTimeout() (time.Duration, bool) {
	var at C.uint64_t
	if int(C.bm_vrrp_router_poll_timeout(h.p, &at)) != StatusOK {
		return 0, false
	}
	return time.Duration(at), true
}

// HandlePacket routes a received VRRP message (the IP payload) that arrived on iface.
func (h *VRRPHost) HandlePacket(now time.Duration, iface uint32, src, dst string, ttl uint8, packet []byte) (*Routed, error) {
	csrc, cdst := C.CString(src), C.CString(dst)
	defer C.free(unsafe.Pointer(csrc))
	defer C.free(unsafe.Pointer(cdst))
	var ptr *C.uint8_t
	if len(packet) > 0 {
		ptr = (*C.uint8_t)(unsafe.Pointer(&packet[0]))
	}
	var out, cerr *C.char
	rc := int(C.bm_vrrp_router_handle_packet(h.p, ns(now), C.uint32_t(iface), csrc, cdst, C.uint8_t(ttl), ptr,
		C.size_t(len(packet)), &out, &cerr))
	defer C.bm_string_free(out)
	defer C.bm_string_free(cerr)
	if rc != StatusOK {
		return nil, decodeError(rc, cerr)
	}
	return decode[Routed]([]byte(C.GoString(out)), nil)
}

// PollAction returns the next action of any instance, or nil.
func (h *VRRPHost) PollAction() (*HostAction, error) {
	var a *C.char
	if rc := int(C.bm_vrrp_router_poll_action(h.p, &a)); rc != StatusOK {
		return nil, &Error{Status: rc, Kind: "internal", Message: "bm_vrrp_router_poll_action failed"}
	}
	if a == nil {
		return nil, nil
	}
	defer C.bm_string_free(a)
	text := []byte(C.GoString(a))
	act := &HostAction{}
	if err := json.Unmarshal(text, act); err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(text, &raw); err == nil && act.Action == "transition" {
		_ = json.Unmarshal(raw["to"], &act.State)
		act.To = ""
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

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// SetLink reports iface's carrier, for the instances running on it; down is FAULT.
func (h *VRRPHost) SetLink(now time.Duration, iface uint32, up bool) {
	C.bm_vrrp_router_set_link(h.p, ns(now), C.uint32_t(iface), cbool(up))
}

// SetCheck reports a tracked check's result to every instance tracking it; false when none does.
func (h *VRRPHost) SetCheck(now time.Duration, name string, passing bool) bool {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return int(C.bm_vrrp_router_set_check(h.p, ns(now), cname, cbool(passing))) == StatusOK
}

// SetSourceUsable reports whether an instance's source address can be sent from (for IPv6:
// not tentative); while it cannot, the instance stays in FAULT.
func (h *VRRPHost) SetSourceUsable(now time.Duration, instance int, usable bool) error {
	if int(C.bm_vrrp_router_set_source_usable(h.p, ns(now), C.uint32_t(instance), cbool(usable))) != StatusOK {
		return &Error{Status: StatusRejected, Kind: "unknown_instance", Message: fmt.Sprintf("no instance %d", instance)}
	}
	return nil
}

// ReportSend says how an instance's send to `to` went: sendErr nil for sent. Failures in a
// row make a master give up (FAULT).
func (h *VRRPHost) ReportSend(now time.Duration, instance int, to string, sendErr error) error {
	cto := C.CString(to)
	defer C.free(unsafe.Pointer(cto))
	var cmsg *C.char
	if sendErr != nil {
		cmsg = C.CString(sendErr.Error())
		defer C.free(unsafe.Pointer(cmsg))
	}
	if int(C.bm_vrrp_router_report_send(h.p, ns(now), C.uint32_t(instance), cto, cmsg)) != StatusOK {
		return &Error{Status: StatusRejected, Kind: "invalid_report", Message: fmt.Sprintf("instance %d, to %q", instance, to)}
	}
	return nil
}

// ReportVIPs says how an instance's add_vips or remove_vips went (op "add" or "remove");
// changeErr nil for done. A failure is retried (the action comes again later).
func (h *VRRPHost) ReportVIPs(now time.Duration, instance int, op string, vips []string, changeErr error) error {
	report := map[string]any{"op": op, "vips": vips}
	if changeErr != nil {
		report["error"] = changeErr.Error()
	}
	text, err := json.Marshal(report)
	if err != nil {
		return err
	}
	cin := C.CString(string(text))
	defer C.free(unsafe.Pointer(cin))
	var cerr *C.char
	rc := int(C.bm_vrrp_router_report_vips(h.p, ns(now), C.uint32_t(instance), cin, &cerr))
	defer C.bm_string_free(cerr)
	if rc != StatusOK {
		return decodeError(rc, cerr)
	}
	return nil
}

// HostStatus is every instance's state and counters.
type HostStatus struct {
	Instances []struct {
		Instance     int    `json:"instance"`
		Interface    uint32 `json:"interface"`
		State        string `json:"state"`
		Priority     int    `json:"priority"`
		Source       string `json:"source"`
		SourceUsable bool   `json:"source_usable"`
		LinkUp       bool   `json:"link_up"`
		Stats        struct {
			AdvertsAccepted uint64            `json:"adverts_accepted"`
			AdvertsSent     uint64            `json:"adverts_sent"`
			SendFailures    uint64            `json:"send_failures"`
			Drops           map[string]uint64 `json:"drops"`
			VIPFailures     uint64            `json:"vip_failures"`
		} `json:"stats"`
		PendingVIPRemoval []string `json:"pending_vip_removal"`
	} `json:"instances"`
	Unrouted struct {
		NoInstance uint64 `json:"no_instance"`
		TooShort   uint64 `json:"too_short"`
		Own        uint64 `json:"own"`
	} `json:"unrouted"`
}

// Status returns every instance's state, counters (drops by reason, failed sends and VIP
// changes) and source address, and what no instance got.
func (h *VRRPHost) Status(now time.Duration) (*HostStatus, error) {
	var out, cerr *C.char
	rc := int(C.bm_vrrp_router_status(h.p, ns(now), &out, &cerr))
	defer C.bm_string_free(out)
	defer C.bm_string_free(cerr)
	if rc != StatusOK {
		return nil, decodeError(rc, cerr)
	}
	return decode[HostStatus]([]byte(C.GoString(out)), nil)
}
