package bmnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestVersion(t *testing.T) {
	if ABIVersion != 2 {
		t.Fatalf("ABIVersion = %d", ABIVersion)
	}
	if v := Version(); v != "0.1.0" {
		t.Fatalf("Version() = %q", v)
	}
	if err := CheckABI(); err != nil {
		t.Fatalf("CheckABI() = %v with the library built from this tree", err)
	}
}

// A library of another ABI is refused, by name, before anything is misread.
func TestCheckABIRefusesAnotherLibrary(t *testing.T) {
	err := checkABI(ABIVersion + 1)
	var e *Error
	if !errors.As(err, &e) || e.Kind != "abi_mismatch" || e.Status != StatusInternal {
		t.Fatalf("checkABI(%d) = %v", ABIVersion+1, err)
	}
	want := fmt.Sprintf("libbmnet implements ABI %d but this program was built against bmnet.h of ABI %d", ABIVersion+1, ABIVersion)
	if !strings.Contains(e.Message, want) {
		t.Fatalf("message %q lacks %q", e.Message, want)
	}
}

func TestClassifyMapped(t *testing.T) {
	// Go's net.IP calls it IPv4 and netip calls it IPv6; bmnet says what it is and which
	// socket binds it.
	c, err := Classify("::ffff:192.168.0.14")
	if err != nil {
		t.Fatal(err)
	}
	if c.Family != "ipv4" || c.Kind != "ipv4_mapped" || !c.IsPrivate || c.IsGlobal {
		t.Fatalf("%+v", c)
	}
	if c.BindAddress == nil || *c.BindAddress != "192.168.0.14" || *c.BindFamily != "ipv4" {
		t.Fatalf("bind %v %v", c.BindFamily, c.BindAddress)
	}
	if c.Registry == nil || *c.Registry != "Private-Use" {
		t.Fatalf("registry %v", c.Registry)
	}
}

func TestClassifyZoneAndErrors(t *testing.T) {
	c, err := Classify("fe80::1%eth0")
	if err != nil || c.Zone == nil || *c.Zone != "eth0" || !c.IsLinkLocal {
		t.Fatalf("%+v %v", c, err)
	}
	_, err = Classify("010.1.1.1")
	var e *Error
	if !errors.As(err, &e) || !e.Rejected() || e.Kind != "invalid_address" || e.Offset == nil || *e.Offset != 0 {
		t.Fatalf("%#v", err)
	}
	if !strings.Contains(e.Error(), "leading zero") {
		t.Fatalf("message %q", e.Error())
	}
	for _, bad := range []string{"", "1.2.3.4\x00", "{\"addr\": \"1.2.3.4\"}", "10.0.0.\xff", "fe80::1%"} {
		if _, err := Classify(bad); !errors.As(err, &e) || !e.Rejected() {
			t.Errorf("Classify(%q) = %v", bad, err)
		}
	}
	s, err := ClassifySloppy("010.1.1.1")
	if err != nil || s.Canonical != "10.1.1.1" || s.Warning == "" {
		t.Fatalf("%+v %v", s, err)
	}
}

// The classification agrees with net/netip wherever netip has an answer that does not depend
// on mapped look-through.
func TestClassifyAgreesWithNetip(t *testing.T) {
	for _, s := range []string{"127.0.0.1", "10.1.2.3", "fe80::1", "ff02::1", "8.8.8.8", "::1", "fd00::5", "224.0.0.251"} {
		a := netip.MustParseAddr(s)
		c, err := Classify(s)
		if err != nil {
			t.Fatal(err)
		}
		if c.IsLoopback != a.IsLoopback() || c.IsPrivate != a.IsPrivate() || c.IsMulticast != a.IsMulticast() ||
			c.IsLinkLocal != (a.IsLinkLocalUnicast()) {
			t.Errorf("%s: bmnet %+v vs netip", s, c)
		}
	}
}

const snapshot = `{
  "links": [{"index": 2, "name": "eth0", "up": true}, {"index": 3, "name": "eth1", "up": true}],
  "addresses": [{"link": 2, "addr": "10.0.2.15/24"}, {"link": 3, "addr": "192.168.111.20/24"},
                {"link": 3, "addr": "192.168.111.5/24"}, {"link": 3, "addr": "fd2e::20/64"}],
  "routes": [{"family": "ipv4", "destination": "0.0.0.0/0", "gateway": "10.0.2.2", "link": 2}]
}`

func TestSelectNodeIPOnSnapshot(t *testing.T) {
	// kubernetes#44702: without a VIP, the default route's NIC; with the VIP, its subnet and the
	// IPv6 of the same link, never the VIP itself.
	s, err := SelectNodeIP(SelectRequest{Snapshot: json.RawMessage(snapshot)})
	if err != nil || s.NodeIPArg() != "10.0.2.15" {
		t.Fatalf("%+v %v", s, err)
	}
	s, err = SelectNodeIP(SelectRequest{Snapshot: json.RawMessage(snapshot), VIPs: []string{"192.168.111.5"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.NodeIPArg() != "192.168.111.20,fd2e::20" || s.Chosen[0].Method != "vip_subnet" || s.Chosen[0].LinkName != "eth1" {
		t.Fatalf("%+v", s)
	}
	ips, err := s.IPs()
	if err != nil || ips[0] != netip.MustParseAddr("192.168.111.20") {
		t.Fatalf("%v %v", ips, err)
	}
	for _, c := range s.Candidates {
		if c.Addr == "192.168.111.5/24" && (c.Verdict.Verdict != "rejected" || !strings.Contains(string(c.Verdict.Reasons[0]), `"vip"`)) {
			t.Fatalf("VIP verdict %+v", c.Verdict)
		}
		if c.Addr == "10.0.2.15/24" && (c.Verdict.Verdict != "lost" || c.Verdict.Why != "not matched by vip_subnet") {
			t.Fatalf("NAT verdict %+v", c.Verdict)
		}
	}
	s, err = SelectNodeIP(SelectRequest{Snapshot: json.RawMessage(snapshot), VIPs: []string{"192.168.111.5"}, PreferIPv6: true})
	if err != nil || s.NodeIPArg() != "fd2e::20,192.168.111.20" {
		t.Fatalf("%+v %v", s, err)
	}
}

func TestSelectNodeIPNothingQualifies(t *testing.T) {
	s, err := SelectNodeIP(SelectRequest{Snapshot: json.RawMessage(`{"links": [{"index": 1, "name": "lo", "up": true, "loopback": true}],
		"addresses": [{"link": 1, "addr": "127.0.0.1/8"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.IPs(); !errors.Is(err, ErrNoNodeIP) || s.NodeIPArg() != "" {
		t.Fatalf("%v %q", err, s.NodeIPArg())
	}
}

func TestSelectNodeIPThisHost(t *testing.T) {
	s, err := SelectNodeIP(SelectRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Candidates) == 0 {
		t.Fatal("this host has no address at all?")
	}
}

func TestSelectNodeIPErrors(t *testing.T) {
	var e *Error
	cases := []struct {
		req  SelectRequest
		kind string
		path string
	}{
		{SelectRequest{Hints: []string{"fe80::1"}}, "invalid_request", "hints[0]"},
		{SelectRequest{Exclude: []string{"010.0.0.0/8"}}, "invalid_request", "exclude"},
		{SelectRequest{VIPs: []string{"10.0.0.5"}, Policy: json.RawMessage(`{}`)}, "invalid_request", "policy"},
		{SelectRequest{Snapshot: json.RawMessage(`{"links": 3}`)}, "invalid_request", "snapshot.links"},
	}
	for _, c := range cases {
		_, err := SelectNodeIP(c.req)
		if !errors.As(err, &e) || e.Kind != c.kind || e.Path != c.path || !e.Rejected() {
			t.Errorf("%+v: %#v", c.req, err)
		}
	}
}

func TestCheckNodeIPArg(t *testing.T) {
	a, err := CheckNodeIPArg(CheckArgRequest{Value: "10.0.0.5,fd00::5"})
	if err != nil || a.PrimaryFamily != "ipv4" || len(a.Entries) != 2 {
		t.Fatalf("%+v %v", a, err)
	}
	_, err = CheckNodeIPArg(CheckArgRequest{Value: "fe80::1"})
	var e *Error
	if !errors.As(err, &e) || e.Kind != "rejected_by_kubelet" ||
		e.Message != "failed to validate nodeIP: nodeIP can't be a link-local unicast address" {
		t.Fatalf("%#v", err)
	}
	// kubernetes 1.26 with an external cloud provider refuses a dual-stack pair; 1.30 takes it.
	if _, err := CheckNodeIPArg(CheckArgRequest{Value: "10.0.0.5,fd00::5", CloudProvider: "external", KubeletVersion: "1.26"}); !errors.As(err, &e) || len(e.Errors) == 0 {
		t.Fatalf("1.26: %v", err)
	}
	if _, err := CheckNodeIPArg(CheckArgRequest{Value: "10.0.0.5,fd00::5", CloudProvider: "external", KubeletVersion: "1.30"}); err != nil {
		t.Fatalf("1.30: %v", err)
	}
	if _, err := CheckNodeIPArg(CheckArgRequest{Value: "10.9.9.9", OnHost: true, Snapshot: json.RawMessage(snapshot)}); !errors.As(err, &e) {
		t.Fatalf("on host: %v", err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if c, err := Classify("::ffff:10.0.0.1"); err != nil || c.Family != "ipv4" {
					t.Errorf("goroutine %d: %+v %v", g, c, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

var sink bool

// BenchmarkClassifyBmnet is one bm_addr_classify call through cgo, JSON decoding included.
func BenchmarkClassifyBmnet(b *testing.B) {
	for i := 0; i < b.N; i++ {
		c, err := Classify("::ffff:192.168.0.14")
		if err != nil {
			b.Fatal(err)
		}
		sink = c.IsPrivate
	}
}

// BenchmarkClassifyBmnetRaw is the cgo call and the C string copy alone, no JSON decoding.
func BenchmarkClassifyBmnetRaw(b *testing.B) {
	for i := 0; i < b.N; i++ {
		out, err := call(classifyFn, "::ffff:192.168.0.14")
		if err != nil {
			b.Fatal(err)
		}
		sink = len(out) > 0
	}
}

// BenchmarkClassifyNetip is the nearest pure-Go classification: parse, unmap, and netip's
// predicates.
func BenchmarkClassifyNetip(b *testing.B) {
	for i := 0; i < b.N; i++ {
		a, err := netip.ParseAddr("::ffff:192.168.0.14")
		if err != nil {
			b.Fatal(err)
		}
		a = a.Unmap()
		sink = a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsGlobalUnicast() || a.IsUnspecified()
	}
}

// query builds a wire-format question without EDNS.
func query(name string, qtype uint16) []byte {
	b := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, l := range strings.Split(name, ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0, byte(qtype>>8), byte(qtype), 0, 1)
}

const zoneTOML = `cluster = "ostest"
base_domain = "example.com"
api_vips = ["192.168.111.5"]
ingress_vips = ["192.168.111.4"]
upstreams = ["192.0.2.53:53"]
`

func TestZoneAnswer(t *testing.T) {
	z, err := NewZone(zoneTOML)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	q := query("A.B.apps.ostest.example.com", 1)
	resp, outcome, err := z.Answer(q, false)
	if err != nil || outcome != Answered {
		t.Fatalf("%v %v", outcome, err)
	}
	if resp[0] != 0x12 || resp[2]&0x84 != 0x84 || !ipEq(resp[len(resp)-4:], 192, 168, 111, 4) {
		t.Fatalf("% x", resp)
	}
	if string(resp[12:len(q)]) != string(q[12:]) {
		t.Fatal("question (and its case) not echoed")
	}
	if _, outcome, _ := z.Answer(query("www.example.org", 1), true); outcome != Forward {
		t.Fatalf("outside the zone: %v", outcome)
	}
	if _, outcome, _ := z.Answer([]byte{1, 2, 3}, false); outcome != Drop {
		t.Fatalf("runt: %v", outcome)
	}
}

func ipEq(b []byte, ip ...byte) bool {
	return string(b) == string(ip)
}

func TestZoneConfigErrors(t *testing.T) {
	_, err := NewZone(`{"cluster": "c", "base_domain": "x", "api_vips": ["::ffff:10.0.0.5"]}`)
	var e *Error
	if !errors.As(err, &e) || e.Kind != "invalid_config" || !strings.Contains(e.Message, "write 10.0.0.5") {
		t.Fatalf("%#v", err)
	}
	if _, err := NewZone("cluster = "); !errors.As(err, &e) || !e.Rejected() {
		t.Fatalf("%v", err)
	}
}

func TestZoneConcurrentAnswers(t *testing.T) {
	z, err := NewZone(zoneTOML)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := query("api.ostest.example.com", 1)
			for i := 0; i < 500; i++ {
				if resp, o, err := z.Answer(q, false); err != nil || o != Answered || resp[len(resp)-1] != 5 {
					t.Errorf("%v %v", o, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkZoneAnswer is one DNS answer through cgo into a Go buffer.
func BenchmarkZoneAnswer(b *testing.B) {
	z, err := NewZone(zoneTOML)
	if err != nil {
		b.Fatal(err)
	}
	defer z.Close()
	q := query("api.ostest.example.com", 1)
	for i := 0; i < b.N; i++ {
		if _, _, err := z.Answer(q, false); err != nil {
			b.Fatal(err)
		}
	}
}

func drainActions(t *testing.T, r *Router) []*VRRPAction {
	var out []*VRRPAction
	for {
		a, err := r.PollAction()
		if err != nil {
			t.Fatal(err)
		}
		if a == nil {
			return out
		}
		out = append(out, a)
	}
}

// Two routers elect a master, and a graceful stop hands the VIP over within Skew_Time.
func TestRouterElection(t *testing.T) {
	hi, err := NewRouter(`{"vrid": 51, "priority": 60, "vips": ["10.0.0.100"], "primary": "10.0.0.1"}`)
	if err != nil {
		t.Fatal(err)
	}
	defer hi.Close()
	lo, err := NewRouter(`{"vrid": 51, "priority": 40, "vips": ["10.0.0.100"], "primary": "10.0.0.2"}`)
	if err != nil {
		t.Fatal(err)
	}
	defer lo.Close()
	hi.Start(0)
	lo.Start(0)
	drainActions(t, hi)
	drainActions(t, lo)
	due, ok := hi.PollTimeout()
	if !ok || due != 3*time.Second+time.Second*196/256 {
		t.Fatalf("master down interval %v", due)
	}
	hi.HandleTimeout(due)
	var advert []byte
	var states []string
	for _, a := range drainActions(t, hi) {
		if a.Action == "send" {
			advert = a.Bytes
		}
		if a.Action == "transition" {
			states = append(states, a.State)
		}
	}
	if len(advert) != 20 || advert[2] != 60 || len(states) != 1 || states[0] != "master" {
		t.Fatalf("advert % x states %v", advert, states)
	}
	if err := lo.HandlePacket(due, "10.0.0.1", "224.0.0.18", 255, advert); err != nil {
		t.Fatal(err)
	}
	var e *Error
	if err := lo.HandlePacket(due, "10.0.0.1", "224.0.0.18", 1, advert); !errors.As(err, &e) || e.Kind != "dropped" {
		t.Fatalf("TTL 1: %v", err)
	}
	hi.Shutdown(due + time.Second)
	for _, a := range drainActions(t, hi) {
		if a.Action == "send" {
			advert = a.Bytes
		}
	}
	if advert[2] != 0 {
		t.Fatalf("resign priority %d", advert[2])
	}
	stop := due + time.Second
	if err := lo.HandlePacket(stop, "10.0.0.1", "224.0.0.18", 255, advert); err != nil {
		t.Fatal(err)
	}
	at, _ := lo.PollTimeout()
	if at-stop != time.Second*216/256 {
		t.Fatalf("takeover after %v, not Skew_Time", at-stop)
	}
	lo.HandleTimeout(at)
	added := false
	for _, a := range drainActions(t, lo) {
		added = added || a.Action == "add_vips"
	}
	if !added {
		t.Fatal("lo did not take the VIP")
	}
	if hi.SetCheck(0, "nope", true) {
		t.Fatal("an unknown check is accepted")
	}
}

func TestCheckKeyfile(t *testing.T) {
	text := "[connection]\nid=eth0\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\ntype=ethernet\n" +
		"[ethernet]\nmtu=01500\n[ipv4]\nmethod=manual\naddress1=10.10.99.99\\24\n"
	r, err := CheckKeyfile(text)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK || r.Errors != 3 || len(r.Files) != 1 {
		t.Fatalf("%+v", r)
	}
	var octal *KeyfileDiagnostic
	for i, d := range r.Files[0].Diagnostics {
		if d.Code == "integer-octal" {
			octal = &r.Files[0].Diagnostics[i]
		}
	}
	if octal == nil || octal.Line != 6 || octal.Column != 5 || *octal.Key != "mtu" || *octal.Help != "write `1500`" {
		t.Fatalf("%+v", octal)
	}
	if p := r.Files[0].Profile; p == nil || *p.ID != "eth0" || *p.Type != "ethernet" {
		t.Fatalf("%+v", p)
	}
}

func TestCheckKeyfiles(t *testing.T) {
	mode := uint32(0o600)
	a := "[connection]\nid=a\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\ntype=ethernet\n[ipv4]\nmethod=auto\n"
	b := strings.Replace(a, "id=a", "id=b", 1)
	r, err := CheckKeyfiles([]Keyfile{{Name: "a.nmconnection", Text: a, Mode: &mode}, {Name: "b.nmconnection", Text: b, Mode: &mode}}, "1.42")
	if err != nil {
		t.Fatal(err)
	}
	if r.OK || r.Errors != 1 || r.Files[1].Diagnostics[0].Code != "uuid-duplicate" {
		t.Fatalf("%+v", r)
	}
	_, err = CheckKeyfiles(nil, "one")
	var e *Error
	if !errors.As(err, &e) || !e.Rejected() || e.Kind != "invalid_version" {
		t.Fatalf("%v", err)
	}
}

func TestRenderKeyfiles(t *testing.T) {
	nncp := `apiVersion: nmstate.io/v1
kind: NodeNetworkConfigurationPolicy
spec:
  desiredState:
    interfaces:
    - name: bond0
      type: bond
      state: up
      ipv4: {enabled: false}
      ipv6: {enabled: false}
      link-aggregation: {mode: 802.3ad, port: [eno1, eno2]}
    - {name: eno1, type: ethernet, state: up}
    - {name: eno2, type: ethernet, state: up}
    - name: bond0.100
      type: vlan
      state: up
      vlan: {base-iface: bond0, id: 100}
      ipv4: {enabled: true, address: [{ip: 192.168.111.20, prefix-length: 24}]}
      ipv6: {enabled: false}
`
	r, err := RenderKeyfiles(nncp)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Files) != 4 {
		t.Fatalf("%+v", r)
	}
	var files []Keyfile
	for _, f := range r.Files {
		files = append(files, Keyfile{Name: f.Name, Text: f.Contents})
	}
	check, err := CheckKeyfiles(files, "")
	if err != nil || !check.OK || check.Warnings != 0 {
		t.Fatalf("rendered files do not check clean: %+v %v", check, err)
	}
	_, err = RenderKeyfiles(strings.Replace(nncp, "id: 100", "id: 5000", 1))
	var e *Error
	if !errors.As(err, &e) || !e.Rejected() {
		t.Fatalf("%v", err)
	}
}

func drainHost(t *testing.T, h *VRRPHost) []*HostAction {
	var out []*HostAction
	for {
		a, err := h.PollAction()
		if err != nil {
			t.Fatal(err)
		}
		if a == nil {
			return out
		}
		out = append(out, a)
	}
}

// Two hosts in unicast mode and a third that forges adverts: routing by link and VRID, the
// forgery dropped with its reason and counted, the master unmoved; failed sends give up
// mastership.
func TestVRRPHostRoutesAndDropsForgedAdverts(t *testing.T) {
	const eth0, eth1 = 2, 3
	a, b, forger := NewVRRPHost(), NewVRRPHost(), NewVRRPHost()
	defer a.Close()
	defer b.Close()
	defer forger.Close()
	unicast := func(prio int, me, peer string) string {
		return fmt.Sprintf(`{"vrid": 51, "priority": %d, "vips": ["10.0.0.100"], "primary": %q, "unicast_peers": [%q]}`, prio, me, peer)
	}
	if id, err := a.Add(eth0, unicast(60, "10.0.0.1", "10.0.0.2")); err != nil || id != 0 {
		t.Fatal(id, err)
	}
	if id, err := a.Add(eth1, `{"vrid": 51, "priority": 60, "vips": ["10.1.0.100"], "primary": "10.1.0.1"}`); err != nil || id != 1 {
		t.Fatal(id, err)
	}
	var e *Error
	if _, err := a.Add(eth1, `{"vrid": 51, "priority": 10, "vips": ["10.1.0.101"], "primary": "10.1.0.9"}`); !errors.As(err, &e) || e.Kind != "duplicate" {
		t.Fatalf("%v", err)
	}
	if _, err := b.Add(eth0, unicast(40, "10.0.0.2", "10.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if _, err := forger.Add(eth0, unicast(255, "10.0.0.9", "10.0.0.2")); err != nil {
		t.Fatal(err)
	}
	for _, h := range []*VRRPHost{a, b, forger} {
		h.Start(0)
	}
	drainHost(t, a)
	drainHost(t, b)
	due, _ := a.PollTimeout()
	a.HandleTimeout(due)
	var advert []byte
	masters := map[int]bool{}
	for _, act := range drainHost(t, a) {
		if act.Action == "send" && act.Instance == 0 {
			advert = act.Bytes
			if err := a.ReportSend(due, act.Instance, act.To, nil); err != nil {
				t.Fatal(err)
			}
		}
		if act.Action == "transition" && act.State == "master" {
			masters[act.Instance] = true
		}
	}
	if !masters[0] || !masters[1] || len(advert) != 20 {
		t.Fatalf("masters %v advert % x", masters, advert)
	}
	r, err := b.HandlePacket(due, eth0, "10.0.0.1", "10.0.0.2", 255, advert)
	if err != nil || r.Outcome != "accepted" || r.Instance != 0 {
		t.Fatalf("%+v %v", r, err)
	}
	if r, _ := b.HandlePacket(due, eth1, "10.0.0.1", "10.0.0.2", 255, advert); r.Outcome != "no_instance" {
		t.Fatalf("%+v", r)
	}
	// The forger, priority 255 from an address that is no peer: dropped, counted, logged once.
	drainHost(t, forger)
	fdue, _ := forger.PollTimeout()
	forger.HandleTimeout(fdue)
	var forged []byte
	for _, act := range drainHost(t, forger) {
		if act.Action == "send" {
			forged = act.Bytes
		}
	}
	r, err = b.HandlePacket(due+time.Millisecond, eth0, "10.0.0.9", "10.0.0.2", 64, forged)
	if err != nil || r.Outcome != "dropped" || r.Drop != "not_a_peer" || r.Report == nil {
		t.Fatalf("%+v %v", r, err)
	}
	r, _ = b.HandlePacket(due+2*time.Millisecond, eth0, "10.0.0.9", "10.0.0.2", 64, forged)
	if r.Report != nil {
		t.Fatalf("a second report within the window: %+v", r)
	}
	st, err := b.Status(due)
	if err != nil || st.Instances[0].State != "backup" || st.Instances[0].Stats.Drops["not_a_peer"] != 2 {
		t.Fatalf("%+v %v", st, err)
	}
	// Instance 0 of host A cannot send: three in a row and it gives up (FAULT, VIP removed).
	for i := 0; i < 3; i++ {
		if err := a.ReportSend(due, 0, "10.0.0.2", errors.New("Network is unreachable")); err != nil {
			t.Fatal(err)
		}
	}
	fault, removed := false, false
	for _, act := range drainHost(t, a) {
		fault = fault || (act.Instance == 0 && act.Action == "transition" && act.State == "fault")
		removed = removed || (act.Instance == 0 && act.Action == "remove_vips")
	}
	if !fault || !removed {
		t.Fatalf("fault %v removed %v", fault, removed)
	}
	if err := a.ReportVIPs(due, 0, "remove", []string{"10.0.0.100"}, errors.New("EPERM")); err != nil {
		t.Fatal(err)
	}
	st, _ = a.Status(due)
	if st.Instances[0].State != "fault" || st.Instances[0].Stats.SendFailures != 3 || len(st.Instances[0].PendingVIPRemoval) != 1 {
		t.Fatalf("%+v", st.Instances[0])
	}
	if err := a.SetSourceUsable(due, 7, true); err == nil {
		t.Fatal("unknown instance accepted")
	}
}
