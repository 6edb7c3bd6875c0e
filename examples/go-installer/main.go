// Command go-installer does what a bare-metal installer written in Go does on a node, through
// libbmnet instead of its own rules:
//
//  1. picks the IP kubelet must bind on the host it runs on (the address in the API VIP's
//     subnet, with every other address's reason);
//  2. renders the node's NetworkManager keyfiles from an NNCP-style YAML, checks them as
//     NetworkManager 1.42 will read them, and writes them (mode 0600);
//  3. answers a DNS query for the cluster's API name from the cluster zone.
//
// Build (from this directory, with libbmnet installed: `make -C crates/bm-capi install`):
//
//	go build                      # or PKG_CONFIG_PATH=<dir with bmnet.pc> go build
//	./go-installer -api-vip 192.168.111.5 -ingress-vip 192.168.111.4 -nncp nncp.yaml -out /tmp/keyfiles
package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"example.invalid/bmnet/go/bmnet"
)

func main() {
	apiVIP := flag.String("api-vip", "", "the API VIP (required)")
	ingressVIP := flag.String("ingress-vip", "", "the ingress VIP")
	cluster := flag.String("cluster", "ostest", "cluster name")
	baseDomain := flag.String("base-domain", "example.com", "base domain")
	nncp := flag.String("nncp", "nncp.yaml", "the node's NodeNetworkConfigurationPolicy (or nmstate state)")
	out := flag.String("out", "", "where to write the keyfiles (required)")
	checkABI := flag.Bool("check-abi", false, "only check that the libbmnet loaded implements this build's ABI, and say which")
	flag.Parse()
	// A libbmnet of another ABI (a shared library replaced under the program) is refused
	// before anything it returns is read.
	if err := bmnet.CheckABI(); err != nil {
		fmt.Fprintln(os.Stderr, "go-installer:", err)
		os.Exit(2)
	}
	if *checkABI {
		fmt.Printf("libbmnet %s, ABI %d\n", bmnet.Version(), bmnet.ABIVersion)
		return
	}
	if *apiVIP == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*apiVIP, *ingressVIP, *cluster, *baseDomain, *nncp, *out); err != nil {
		fmt.Fprintln(os.Stderr, "go-installer:", err)
		var e *bmnet.Error
		if errors.As(err, &e) && e.Rejected() || errors.Is(err, bmnet.ErrNoNodeIP) {
			os.Exit(1)
		}
		os.Exit(2)
	}
}

func run(apiVIP, ingressVIP, cluster, baseDomain, nncpPath, outDir string) error {
	fmt.Printf("bmnet %s (ABI %d)\n", bmnet.Version(), bmnet.ABIVersion)

	// 1. The node IP, from this host's links, addresses and routes.
	sel, err := bmnet.SelectNodeIP(bmnet.SelectRequest{VIPs: []string{apiVIP}})
	if err != nil {
		return fmt.Errorf("selecting the node IP: %w", err)
	}
	for _, c := range sel.Candidates {
		why := c.Verdict.Verdict
		if c.Verdict.Why != "" {
			why += ": " + c.Verdict.Why
		}
		fmt.Printf("  %-28s %-10s %s\n", c.Addr, c.LinkName, why)
	}
	ips, err := sel.IPs()
	if err != nil {
		return err
	}
	fmt.Printf("node IP: --node-ip=%s\n", sel.NodeIPArg())

	// 2. Keyfiles from the NNCP, checked, then written.
	state, err := os.ReadFile(nncpPath)
	if err != nil {
		return err
	}
	rendered, err := bmnet.RenderKeyfiles(string(state))
	if err != nil {
		return fmt.Errorf("rendering %s: %w", nncpPath, err)
	}
	for _, w := range rendered.Warnings {
		fmt.Println("  note:", w)
	}
	var files []bmnet.Keyfile
	for _, f := range rendered.Files {
		files = append(files, bmnet.Keyfile{Name: f.Name, Text: f.Contents})
	}
	check, err := bmnet.CheckKeyfiles(files, "1.42")
	if err != nil {
		return err
	}
	if !check.OK {
		return fmt.Errorf("the rendered keyfiles have %d errors", check.Errors)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	for _, f := range rendered.Files {
		path := filepath.Join(outDir, f.Name)
		if err := os.WriteFile(path, []byte(f.Contents), 0o600); err != nil {
			return err
		}
		fmt.Println("wrote", path)
	}

	// 3. The cluster zone, with this node in it, answering api.<cluster>.<base domain>.
	config := map[string]any{
		"cluster":     cluster,
		"base_domain": baseDomain,
		"api_vips":    []string{apiVIP},
		"nodes":       map[string][]string{"this-node": {ips[0].String()}},
	}
	if ingressVIP != "" {
		config["ingress_vips"] = []string{ingressVIP}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return err
	}
	zone, err := bmnet.NewZone(string(configJSON))
	if err != nil {
		return fmt.Errorf("cluster zone: %w", err)
	}
	defer zone.Close()
	name := "api." + cluster + "." + baseDomain
	resp, outcome, err := zone.Answer(query(name, 1), false)
	if err != nil {
		return err
	}
	if outcome != bmnet.Answered {
		return fmt.Errorf("%s: not answered (outcome %d)", name, outcome)
	}
	addr, err := firstA(resp)
	if err != nil {
		return err
	}
	fmt.Printf("dns: %s A %s\n", name, addr)
	return nil
}

// query builds a DNS query for name and type (RFC 1035 wire format, recursion desired).
func query(name string, qtype uint16) []byte {
	q := []byte{0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		q = append(q, byte(len(label)))
		q = append(q, label...)
	}
	q = append(q, 0)
	q = binary.BigEndian.AppendUint16(q, qtype)
	return binary.BigEndian.AppendUint16(q, 1)
}

// firstA returns the address of the first A record in the answer section of resp.
func firstA(resp []byte) (netip.Addr, error) {
	if len(resp) < 12 {
		return netip.Addr{}, errors.New("short response")
	}
	if rcode := resp[3] & 0x0f; rcode != 0 {
		return netip.Addr{}, fmt.Errorf("rcode %d", rcode)
	}
	qd, an := binary.BigEndian.Uint16(resp[4:]), binary.BigEndian.Uint16(resp[6:])
	off := 12
	skipName := func() error {
		for off < len(resp) {
			l := int(resp[off])
			switch {
			case l == 0:
				off++
				return nil
			case l&0xc0 == 0xc0:
				off += 2
				return nil
			default:
				off += 1 + l
			}
		}
		return errors.New("truncated name")
	}
	for i := 0; i < int(qd); i++ {
		if err := skipName(); err != nil {
			return netip.Addr{}, err
		}
		off += 4
	}
	for i := 0; i < int(an); i++ {
		if err := skipName(); err != nil {
			return netip.Addr{}, err
		}
		if off+10 > len(resp) {
			return netip.Addr{}, errors.New("truncated record")
		}
		rtype := binary.BigEndian.Uint16(resp[off:])
		rdlen := int(binary.BigEndian.Uint16(resp[off+8:]))
		off += 10
		if off+rdlen > len(resp) {
			return netip.Addr{}, errors.New("truncated rdata")
		}
		if rtype == 1 && rdlen == 4 {
			return netip.AddrFrom4(*(*[4]byte)(resp[off : off+4])), nil
		}
		off += rdlen
	}
	return netip.Addr{}, errors.New("no A record")
}
