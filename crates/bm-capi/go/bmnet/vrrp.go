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

// Router is one VRRP virtual router (the sans-IO core): feed it packets and time, carry out
// its actions. Not safe for concurrent use; Close frees it (a finalizer does too). Times are
// durations since any fixed epoch of a monotonic clock.
type Router struct {
	p *C.bm_vrrp_t
}

// VRRPAction is one thing the router asks for: Action is "send" (Bytes to To), "add_vips",
// "remove_vips", "announce" (Count gratuitous ARPs / NAs per VIP) or "transition".
type VRRPAction struct {
	Action   string   `json:"action"`
	To       string   `json:"to,omitempty"`
	Priority int      `json:"priority"`
	BytesHex string   `json:"bytes_hex,omitempty"`
	VIPs     []string `json:"vips,omitempty"`
	Count    int      `json:"count,omitempty"`
	From     string   `json:"from,omitempty"`
	State    string   `json:"-"`
	Reason   string   `json:"reason,omitempty"`
	Bytes    []byte   `json:"-"`
}

// NewRouter builds a router from its JSON configuration (vrid, priority, vips, primary, and
// keepalived's optional settings; durations in seconds).
func NewRouter(configJSON string) (*Router, error) {
	if abiErr != nil {
		return nil, abiErr
	}
	cin := C.CString(configJSON)
	defer C.free(unsafe.Pointer(cin))
	var p *C.bm_vrrp_t
	var cerr *C.char
	rc := int(C.bm_vrrp_new(cin, &p, &cerr))
	defer C.bm_string_free(cerr)
	if rc != StatusOK {
		return nil, decodeError(rc, cerr)
	}
	r := &Router{p: p}
	runtime.SetFinalizer(r, (*Router).Close)
	return r, nil
}

// Close frees the router.
func (r *Router) Close() {
	if r.p != nil {
		C.bm_vrrp_free(r.p)
		r.p = nil
	}
}

func ns(t time.Duration) C.uint64_t { return C.uint64_t(t.Nanoseconds()) }

// Start starts the router (the owner becomes master, others backup).
func (r *Router) Start(now time.Duration) { C.bm_vrrp_start(r.p, ns(now)) }

// HandleTimeout runs the timers due at now.
func (r *Router) HandleTimeout(now time.Duration) { C.bm_vrrp_handle_timeout(r.p, ns(now)) }

// Shutdown stops gracefully (a master resigns with priority 0).
func (r *Router) Shutdown(now time.Duration) { C.bm_vrrp_shutdown(r.p, ns(now)) }

// SetLink reports the link's carrier; down is FAULT.
func (r *Router) SetLink(now time.Duration, up bool) {
	u := C.int(0)
	if up {
		u = 1
	}
	C.bm_vrrp_set_link(r.p, ns(now), u)
}

// SetCheck reports a tracked check's result; false for an unknown check.
func (r *Router) SetCheck(now time.Duration, name string, passing bool) bool {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	p := C.int(0)
	if passing {
		p = 1
	}
	return int(C.bm_vrrp_set_check(r.p, ns(now), cname, p)) == StatusOK
}

// HandlePacket gives the router a received VRRP message; a dropped packet is an *Error whose
// Message says why.
func (r *Router) HandlePacket(now time.Duration, src, dst string, ttl uint8, packet []byte) error {
	csrc, cdst := C.CString(src), C.CString(dst)
	defer C.free(unsafe.Pointer(csrc))
	defer C.free(unsafe.Pointer(cdst))
	var ptr *C.uint8_t
	if len(packet) > 0 {
		ptr = (*C.uint8_t)(unsafe.Pointer(&packet[0]))
	}
	var cerr *C.char
	rc := int(C.bm_vrrp_handle_packet(r.p, ns(now), csrc, cdst, C.uint8_t(ttl), ptr, C.size_t(len(packet)), &cerr))
	defer C.bm_string_free(cerr)
	if rc != StatusOK {
		return decodeError(rc, cerr)
	}
	return nil
}

// PollAction returns the next action, or nil.
func (r *Router) PollAction() (*VRRPAction, error) {
	var a *C.char
	if rc := int(C.bm_vrrp_poll_action(r.p, &a)); rc != StatusOK {
		return nil, &Error{Status: rc, Kind: "internal", Message: "bm_vrrp_poll_action failed"}
	}
	if a == nil {
		return nil, nil
	}
	defer C.bm_string_free(a)
	var raw map[string]json.RawMessage
	text := []byte(C.GoString(a))
	act := &VRRPAction{}
	if err := json.Unmarshal(text, act); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(text, &raw); err == nil {
		if to, ok := raw["to"]; ok && act.Action == "transition" {
			_ = json.Unmarshal(to, &act.State)
			act.To = ""
		}
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
func (r *Router) PollTimeout() (time.Duration, bool) {
	var at C.uint64_t
	if int(C.bm_vrrp_poll_timeout(r.p, &at)) != StatusOK {
		return 0, false
	}
	return time.Duration(at), true
}
