// Package bmnet is the Go binding of bmnet's C ABI (libbmnet): address classification and
// node-IP selection done once, right, for Go installers.
//
// It links libbmnet statically by default, found through pkg-config (bmnet.pc; set
// PKG_CONFIG_PATH to where it is installed). Build with -tags bmnet_shared to link
// libbmnet.so instead (bmnet-shared.pc).
//
// Every function is safe for concurrent use: the library keeps no state between calls.
package bmnet

/*
#include <stdlib.h>
#include "bmnet.h"
*/
import "C"

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unsafe"
)

// ABIVersion is the C ABI version this package was built against.
const ABIVersion = int(C.BM_ABI_VERSION)

// Status codes of the C ABI.
const (
	StatusOK       = int(C.BM_OK)       // success
	StatusRejected = int(C.BM_REJECTED) // the input was rejected
	StatusInternal = int(C.BM_INTERNAL) // not the input's fault: the host could not be read, a bug
)

// Version is the library's version.
func Version() string { return C.GoString(C.bm_version()) }

// abiErr says, once for the process, whether the libbmnet this program runs with implements
// the ABI this package was compiled against.
var abiErr = checkABI(int(C.bm_abi_version()))

func checkABI(loaded int) error {
	if loaded != ABIVersion {
		return &Error{Status: StatusInternal, Kind: "abi_mismatch", Message: fmt.Sprintf(
			"libbmnet implements ABI %d but this program was built against bmnet.h of ABI %d: install the matching libbmnet",
			loaded, ABIVersion)}
	}
	return nil
}

// CheckABI reports an error when the libbmnet loaded at run time implements another ABI than
// the bmnet.h this package was compiled with (a shared library replaced by an incompatible
// one). Every function of the package refuses to run in that case with the same error.
func CheckABI() error { return abiErr }

// Error is a failed call: the status, and what the library said (kind, message, and where it
// applies the JSON path, line and column, or the byte offset).
type Error struct {
	Status  int    `json:"-"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Path    string `json:"path,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Offset  *int   `json:"offset,omitempty"`
	// Errors lists every rule kubelet would report (CheckNodeIPArg).
	Errors []string `json:"errors,omitempty"`
	// JSON is the whole error object as the library wrote it.
	JSON json.RawMessage `json:"-"`
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bmnet: %s: %s", e.Kind, e.Message)
	if e.Path != "" {
		fmt.Fprintf(&b, " (at %s)", e.Path)
	}
	if e.Offset != nil {
		fmt.Fprintf(&b, " (at byte %d)", *e.Offset)
	}
	return b.String()
}

// Rejected reports whether the input was rejected (as opposed to an internal failure).
func (e *Error) Rejected() bool { return e.Status == StatusRejected }

type cfunc func(in *C.char, out **C.char, err **C.char) C.int

// call runs one C function: string in, JSON out.
func call(f cfunc, in string) ([]byte, error) {
	if abiErr != nil {
		return nil, abiErr
	}
	if strings.IndexByte(in, 0) >= 0 {
		off := strings.IndexByte(in, 0)
		return nil, &Error{Status: StatusRejected, Kind: "invalid_input", Message: "the input contains a NUL byte", Offset: &off}
	}
	cin := C.CString(in)
	defer C.free(unsafe.Pointer(cin))
	var out, cerr *C.char
	rc := int(f(cin, &out, &cerr))
	defer C.bm_string_free(out)
	defer C.bm_string_free(cerr)
	if rc == StatusOK {
		return []byte(C.GoString(out)), nil
	}
	return nil, decodeError(rc, cerr)
}

// decodeError reads the error object a function wrote into err_json.
func decodeError(rc int, cerr *C.char) error {
	raw := []byte(C.GoString(cerr))
	e := &Error{Status: rc, JSON: raw}
	if err := json.Unmarshal(raw, e); err != nil {
		return fmt.Errorf("bmnet: unreadable error %q (status %d): %w", raw, rc, err)
	}
	return e
}

func decode[T any](data []byte, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("bmnet: unexpected result %q: %w", data, err)
	}
	return v, nil
}

// Classification is what bmnet knows about one address (the JSON of bm_addr_classify and
// `bmnet addr classify --json`).
type Classification struct {
	Input           string  `json:"input"`
	Canonical       string  `json:"canonical"`
	Family          string  `json:"family"` // "ipv4" for an IPv4-mapped address
	Kind            string  `json:"kind"`   // ipv4, ipv6, ipv4_mapped, ipv4_compatible, ...
	EmbeddedIPv4    *string `json:"embedded_ipv4"`
	Scope           string  `json:"scope"`
	Registry        *string `json:"registry"`
	RegistryBlock   *string `json:"registry_block"`
	IsLoopback      bool    `json:"is_loopback"`
	IsUnspecified   bool    `json:"is_unspecified"`
	IsLinkLocal     bool    `json:"is_link_local"`
	IsMulticast     bool    `json:"is_multicast"`
	IsPrivate       bool    `json:"is_private"`
	IsShared        bool    `json:"is_shared"`
	IsDocumentation bool    `json:"is_documentation"`
	IsBenchmarking  bool    `json:"is_benchmarking"`
	IsReserved      bool    `json:"is_reserved"`
	IsGlobal        bool    `json:"is_global"`
	Zone            *string `json:"zone"`
	BindFamily      *string `json:"bind_family"`
	BindAddress     *string `json:"bind_address"`
	BindError       string  `json:"bind_error,omitempty"`
	Warning         string  `json:"warning,omitempty"`
}

func classifyFn(in *C.char, out **C.char, err **C.char) C.int {
	return C.bm_addr_classify(in, out, err)
}

// Classify classifies an address, parsed strictly (no leading zeros; zones only on
// link-local addresses).
func Classify(addr string) (*Classification, error) {
	if strings.HasPrefix(strings.TrimLeft(addr, " \t\r\n"), "{") {
		// Not an address; keep the C function's JSON form for ClassifySloppy.
		off := 0
		return nil, &Error{Status: StatusRejected, Kind: "invalid_address", Message: "not an address", Offset: &off}
	}
	return decode[Classification](call(classifyFn, addr))
}

// ClassifySloppy reads the address as kubelet's ParseIPSloppy does (leading zeros as
// decimal), with a Warning naming the canonical form.
func ClassifySloppy(addr string) (*Classification, error) {
	req, _ := json.Marshal(map[string]any{"addr": addr, "sloppy": true})
	return decode[Classification](call(classifyFn, string(req)))
}

// SelectRequest asks for the node IP(s). Without Snapshot, this host is read (netlink).
type SelectRequest struct {
	Snapshot   json.RawMessage `json:"snapshot,omitempty"` // `bmnet node-ip snapshot` output
	VIPs       []string        `json:"vips,omitempty"`
	Hints      []string        `json:"hints,omitempty"` // IPs or CIDRs, "!CIDR" excludes
	PreferIPv6 bool            `json:"prefer_ipv6,omitempty"`
	Exclude    []string        `json:"exclude,omitempty"`  // CIDRs never chosen
	Previous   []string        `json:"previous,omitempty"` // kept while still valid
	Policy     json.RawMessage `json:"policy,omitempty"`   // a whole policy instead of the above
}

// Selection is the result: the chosen addresses, primary family first, and every address
// with what became of it.
type Selection struct {
	Chosen        []Chosen          `json:"chosen"`
	PrimaryFamily string            `json:"primary_family"`
	Candidates    []Candidate       `json:"candidates"`
	Previous      []json.RawMessage `json:"previous,omitempty"`
}

// Chosen is one chosen address.
type Chosen struct {
	Addr     string `json:"addr"` // with its prefix length
	Family   string `json:"family"`
	Link     uint32 `json:"link"`
	LinkName string `json:"link_name"`
	Method   string `json:"method"`
}

// Candidate is one address of the host and its verdict.
type Candidate struct {
	Addr     string  `json:"addr"`
	LinkName string  `json:"link_name"`
	Verdict  Verdict `json:"verdict"`
}

// Verdict says why an address won or lost: Verdict is "chosen", "rejected", "lost" or
// "unmatched".
type Verdict struct {
	Verdict string            `json:"verdict"`
	Method  string            `json:"method,omitempty"`
	To      string            `json:"to,omitempty"`
	Why     string            `json:"why,omitempty"`
	Reasons []json.RawMessage `json:"reasons,omitempty"`
}

// ErrNoNodeIP is returned by Selection.IPs when no address qualified.
var ErrNoNodeIP = errors.New("bmnet: no address qualifies as a node IP")

// IPs returns the chosen IPs, primary first, or ErrNoNodeIP.
func (s *Selection) IPs() ([]netip.Addr, error) {
	if len(s.Chosen) == 0 {
		return nil, ErrNoNodeIP
	}
	ips := make([]netip.Addr, 0, len(s.Chosen))
	for _, c := range s.Chosen {
		p, err := netip.ParsePrefix(c.Addr)
		if err != nil {
			return nil, fmt.Errorf("bmnet: chosen %q: %w", c.Addr, err)
		}
		ips = append(ips, p.Addr())
	}
	return ips, nil
}

// NodeIPArg is the value for kubelet's --node-ip: the chosen IPs, comma separated, primary
// first ("" when none qualified).
func (s *Selection) NodeIPArg() string {
	ips := make([]string, 0, len(s.Chosen))
	for _, c := range s.Chosen {
		ips = append(ips, strings.SplitN(c.Addr, "/", 2)[0])
	}
	return strings.Join(ips, ",")
}

func selectFn(in *C.char, out **C.char, err **C.char) C.int { return C.bm_nodeip_select(in, out, err) }

// SelectNodeIP selects the IP(s) kubelet must bind.
func SelectNodeIP(req SelectRequest) (*Selection, error) {
	in, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	return decode[Selection](call(selectFn, string(in)))
}

// CheckArgRequest is a kubelet --node-ip value to check, as a given kubelet would.
type CheckArgRequest struct {
	Value          string          `json:"value"`
	CloudProvider  string          `json:"cloud_provider,omitempty"`
	KubeletVersion string          `json:"kubelet_version,omitempty"` // "1.28"; default: current
	FamilyKeywords bool            `json:"family_keywords,omitempty"`
	OnHost         bool            `json:"on_host,omitempty"`
	Snapshot       json.RawMessage `json:"snapshot,omitempty"`
}

// NodeIPArg is what kubelet does with an accepted value.
type NodeIPArg struct {
	Entries       []json.RawMessage `json:"entries"`
	Ignored       []string          `json:"ignored"`
	Warnings      []json.RawMessage `json:"warnings"`
	Autodetect    bool              `json:"autodetect"`
	PrimaryFamily string            `json:"primary_family"`
	Annotation    *string           `json:"annotation"`
}

func checkFn(in *C.char, out **C.char, err **C.char) C.int {
	return C.bm_nodeip_check_arg(in, out, err)
}

// CheckNodeIPArg validates a --node-ip value; a value kubelet refuses is an *Error whose
// Message is kubelet's own.
func CheckNodeIPArg(req CheckArgRequest) (*NodeIPArg, error) {
	in, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	return decode[NodeIPArg](call(checkFn, string(in)))
}
