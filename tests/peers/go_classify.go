// Differential peer for tests/differential.rs: Go's net/netip (and net.ParseIP acceptance).
//
// Reads one address per line on stdin (verbatim, no trimming) and prints one JSON object per
// line on stdout, in input order. The first output line is a header naming the peer and its
// version. Single file, standard library only: `go run tests/peers/go_classify.go`.
//
// Go 1.19 (Debian's golang-go) predates the CVE-2024-24790 fix, so the netip predicates below
// look at the IPv6 bits of an IPv4-mapped address without unmapping it.
package main

import (
	"bufio"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"runtime"
)

func describe(text string) map[string]any {
	out := map[string]any{
		"input": text,
		// net.ParseIP has no zones; it is compared against strict parsing.
		"net_parseip_ok": net.ParseIP(text) != nil,
	}
	a, err := netip.ParseAddr(text)
	if err != nil {
		out["ok"] = false
		out["error"] = err.Error()
		return out
	}
	out["ok"] = true
	out["string"] = a.String()
	out["zone"] = a.Zone()
	out["is4"] = a.Is4()
	out["is4in6"] = a.Is4In6()
	out["unmap"] = a.Unmap().String()
	out["is_loopback"] = a.IsLoopback()
	out["is_multicast"] = a.IsMulticast()
	out["is_link_local_unicast"] = a.IsLinkLocalUnicast()
	out["is_private"] = a.IsPrivate()
	out["is_unspecified"] = a.IsUnspecified()
	out["is_global_unicast"] = a.IsGlobalUnicast()
	return out
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64*1024), 1024*1024)
	w := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(w) // one object per line
	enc.SetEscapeHTML(false)
	must(enc.Encode(map[string]any{"peer": "go", "version": runtime.Version()}))
	for in.Scan() {
		must(enc.Encode(describe(in.Text())))
	}
	must(in.Err())
	must(w.Flush())
}

func must(err error) {
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
}
