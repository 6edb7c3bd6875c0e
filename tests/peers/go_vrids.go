// Peer for tests/openshift_vrids.rs: OpenShift's VRIDs as baremetal-runtimecfg computes them
// (pkg/utils FletcherChecksum8, pkg/config PopulateVRIDs), in Go, whose uint8 arithmetic the
// formula depends on. Reads one cluster name per line on stdin, prints "api ingress" per line.
// Single file, standard library only: `go run tests/peers/go_vrids.go`.
package main

import (
	"bufio"
	"fmt"
	"os"
)

func fletcherChecksum8(inp string) uint8 {
	var ckA, ckB uint8
	for i := 0; i < len(inp); i++ {
		ckA = (ckA + inp[i]) % 0xf
		ckB = (ckB + ckA) % 0xf
	}
	return (ckB << 4) | ckA
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		name := in.Text()
		api := fletcherChecksum8(name+"-api") + 1
		ingress := fletcherChecksum8(name+"-ingress") + 1
		if ingress == api {
			ingress++
		}
		fmt.Fprintf(out, "%d %d\n", api, ingress)
	}
}
