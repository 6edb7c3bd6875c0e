package bmnet

/*
#include <stdint.h>
#include <stdlib.h>
#include "bmnet.h"
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// Outcome says what to do with a query after Zone.Answer.
type Outcome int

const (
	Answered Outcome = Outcome(C.BM_DNS_ANSWERED) // send the response
	Forward  Outcome = Outcome(C.BM_DNS_FORWARD)  // outside the zone: ask the upstreams
	Drop     Outcome = Outcome(C.BM_DNS_DROP)     // send nothing
)

// Zone is a cluster zone answering DNS queries given as wire bytes. It is immutable and safe
// for concurrent use; Close frees it (a finalizer does too).
type Zone struct {
	p *C.bm_dns_zone_t
}

// NewZone builds a zone from its configuration, TOML text or a JSON object (cluster,
// base_domain, api_vips, api_int_vips, ingress_vips, nodes, ttl, soa, records, upstreams).
func NewZone(config string) (*Zone, error) {
	if abiErr != nil {
		return nil, abiErr
	}
	cin := C.CString(config)
	defer C.free(unsafe.Pointer(cin))
	var p *C.bm_dns_zone_t
	var cerr *C.char
	rc := int(C.bm_dns_zone_new(cin, &p, &cerr))
	defer C.bm_string_free(cerr)
	if rc != StatusOK {
		return nil, decodeError(rc, cerr)
	}
	z := &Zone{p: p}
	runtime.SetFinalizer(z, (*Zone).Close)
	return z, nil
}

// Close frees the zone; further use is an error the caller must avoid.
func (z *Zone) Close() {
	if z.p != nil {
		C.bm_dns_zone_free(z.p)
		z.p = nil
	}
}

// Answer answers one query (as received over UDP, or TCP when tcp is true). For Answered the
// response is returned; for Forward and Drop it is nil.
func (z *Zone) Answer(query []byte, tcp bool) ([]byte, Outcome, error) {
	if z.p == nil || len(query) == 0 {
		return nil, Drop, &Error{Status: StatusRejected, Kind: "invalid_input", Message: "closed zone or empty query"}
	}
	out := make([]byte, 4096)
	var n C.size_t
	var outcome C.int
	t := C.int(0)
	if tcp {
		t = 1
	}
	for {
		rc := int(C.bm_dns_zone_answer(z.p, (*C.uint8_t)(unsafe.Pointer(&query[0])), C.size_t(len(query)), t,
			(*C.uint8_t)(unsafe.Pointer(&out[0])), C.size_t(len(out)), &n, &outcome))
		runtime.KeepAlive(z)
		switch {
		case rc == StatusOK && Outcome(outcome) == Answered:
			return out[:n], Answered, nil
		case rc == StatusOK:
			return nil, Outcome(outcome), nil
		case rc == StatusRejected && int(n) > len(out):
			out = make([]byte, int(n)) // too small: the size needed came back
		default:
			return nil, Drop, &Error{Status: rc, Kind: "internal", Message: "bm_dns_zone_answer failed"}
		}
	}
}
