package bmnet

/*
#include <stdlib.h>
#include "bmnet.h"
*/
import "C"

import "encoding/json"

// VRIDs are the virtual router IDs of one OpenShift cluster's keepalived instances, as
// `runtimecfg vr-ids NAME` prints them (bm_vrrp_openshift_vrids).
type VRIDs struct {
	API     uint8 `json:"api"`     // the API VIP's (and api-int's)
	Ingress uint8 `json:"ingress"` // the ingress VIP's (*.apps)
	// Others is filled by OpenShiftVRIDCollisions: the other clusters, and the VRIDs they
	// would share with this one on the same segment.
	Others []OtherVRIDs `json:"others,omitempty"`
}

// OtherVRIDs are another cluster's VRIDs, compared with the first's.
type OtherVRIDs struct {
	Name     string  `json:"name"`
	API      uint8   `json:"api"`
	Ingress  uint8   `json:"ingress"`
	Collides bool    `json:"collides"` // a VRID in common, in either role
	Shared   []uint8 `json:"shared"`   // those VRIDs (the first cluster's order)
}

func vridsFn(in *C.char, out **C.char, err **C.char) C.int {
	return C.bm_vrrp_openshift_vrids(in, out, err)
}

// OpenShiftVRIDs returns the VRIDs OpenShift derives from the cluster name (the
// install-config's metadata.name, taken as is). An empty name is an *Error of Kind
// "empty_cluster_name".
func OpenShiftVRIDs(name string) (*VRIDs, error) {
	return OpenShiftVRIDCollisions(name, nil)
}

// OpenShiftVRIDCollisions is OpenShiftVRIDs, with the VRIDs of the other clusters on the same
// segment and which of them collide with this one's.
func OpenShiftVRIDCollisions(name string, others []string) (*VRIDs, error) {
	// Always the JSON form: a name is never mistaken for a request.
	in, err := json.Marshal(struct {
		Name   string   `json:"name"`
		Others []string `json:"others,omitempty"`
	}{name, others})
	if err != nil {
		return nil, err
	}
	return decode[VRIDs](call(vridsFn, string(in)))
}

// KeyfileText is a keyfile given in memory: its path (for the report; the name decides
// whether NetworkManager ignores it) and its text. It is checked as a root-owned file of mode
// 0600.
type KeyfileText struct {
	Path string `json:"path"`
	Text string `json:"text"`
}

// DriftRequest asks where NetworkManager's keyfiles differ from what the kernel runs. Give
// Keyfiles (in memory) or Dirs (read in this order, the first winning when two files share a
// UUID), not both; nil is absent, an empty slice is given and holds nothing. Without Snapshot
// this host is read (netlink). ResolvConf is the text of NetworkManager's resolv.conf
// (/run/NetworkManager/resolv.conf); without it DNS is not compared.
type DriftRequest struct {
	Keyfiles   []KeyfileText
	Dirs       []string
	Snapshot   json.RawMessage // `bmnet node-ip snapshot` output
	ResolvConf *string
}

// DriftProfile names the profile a line of the report is about.
type DriftProfile struct {
	ID   *string `json:"id"`
	UUID *string `json:"uuid"`
	File string  `json:"file"` // the keyfile's path
}

// Difference is one difference between a profile and the kernel.
type Difference struct {
	Profile     DriftProfile `json:"profile"`
	Link        string       `json:"link"`             // the link the profile was matched to
	Field       string       `json:"field"`            // "mtu", "address", "gateway", "dns", ...
	Family      string       `json:"family,omitempty"` // "ipv4" or "ipv6", for IP fields
	File        *string      `json:"file"`             // what the file says (nil: nothing)
	Kernel      *string      `json:"kernel"`           // what the kernel has (nil: nothing)
	Activation  string       `json:"activation"`       // "set", "add", "remove", "recreate"
	Consequence string       `json:"consequence"`      // what `nmcli connection up` or a reboot would change
}

// DriftMatch is a profile compared with a link.
type DriftMatch struct {
	Profile     DriftProfile      `json:"profile"`
	Link        string            `json:"link"`
	By          string            `json:"by"` // "interface-name", "mac-address", "interface-name-and-mac"
	Contenders  []DriftProfile    `json:"contenders,omitempty"`
	NotCompared []json.RawMessage `json:"not_compared,omitempty"`
}

// DriftUnmatched is a profile that was not compared; Reason is
// {"reason": "no-link" | "mac-mismatch" | "no-binding" | "not-autoconnect" | "outranked", ...}.
type DriftUnmatched struct {
	Profile DriftProfile    `json:"profile"`
	Reason  json.RawMessage `json:"reason"`
}

// NotLoaded is a file NetworkManager does not load; Reason is
// {"reason": "ignored-name" | "no-suffix" | "not-regular" | "insecure" | "refused" | "shadowed", ...}.
type NotLoaded struct {
	File   string          `json:"file"`
	Reason json.RawMessage `json:"reason"`
}

// DriftDNS says whether DNS was compared: Status "compared" (with what ResolvConf lists) or
// "not-comparable" (with the Reason).
type DriftDNS struct {
	Status     string          `json:"status"`
	ResolvConf json.RawMessage `json:"resolv_conf,omitempty"`
	Reason     json.RawMessage `json:"reason,omitempty"`
}

// DriftReport is the result of KeyfileDrift (bm_preflight_drift).
type DriftReport struct {
	Matched     []DriftMatch     `json:"matched"`
	Unmatched   []DriftUnmatched `json:"unmatched"`
	Differences []Difference     `json:"differences"`
	DNS         DriftDNS         `json:"dns"`
	NotLoaded   []NotLoaded      `json:"not_loaded"`
}

// HasDrift reports whether a file and the kernel differ anywhere compared.
func (r *DriftReport) HasDrift() bool { return len(r.Differences) > 0 }

func driftFn(in *C.char, out **C.char, err **C.char) C.int {
	return C.bm_preflight_drift(in, out, err)
}

// KeyfileDrift compares the keyfiles with the kernel: what activating them (a reboot) would
// change.
func KeyfileDrift(req DriftRequest) (*DriftReport, error) {
	wire := struct {
		Keyfiles   *[]KeyfileText  `json:"keyfiles,omitempty"`
		Dirs       *[]string       `json:"dirs,omitempty"`
		Snapshot   json.RawMessage `json:"snapshot,omitempty"`
		ResolvConf *string         `json:"resolv_conf,omitempty"`
	}{Snapshot: req.Snapshot, ResolvConf: req.ResolvConf}
	// nil is absent; an empty slice is given (none at all).
	if req.Keyfiles != nil {
		wire.Keyfiles = &req.Keyfiles
	}
	if req.Dirs != nil {
		wire.Dirs = &req.Dirs
	}
	in, err := json.Marshal(wire)
	if err != nil {
		return nil, err
	}
	return decode[DriftReport](call(driftFn, string(in)))
}
