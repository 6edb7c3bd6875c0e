package bmnet

import (
	"errors"
	"testing"
	"time"
)

// pumpBGP carries out from's actions towards to in memory: a "connect" is the one TCP
// connection between the two, sent bytes are to's received bytes. It returns the actions.
func pumpBGP(t *testing.T, now time.Duration, from, to *BGPSession) []*BGPAction {
	t.Helper()
	var out []*BGPAction
	for {
		a, err := from.PollAction()
		if err != nil {
			t.Fatal(err)
		}
		if a == nil {
			return out
		}
		switch a.Action {
		case "connect":
			from.TCPConnected(now)
			to.TCPConnected(now)
		case "send":
			to.HandleBytes(now, a.Bytes)
		case "close", "event":
		default:
			t.Fatalf("unknown action %q", a.Action)
		}
		out = append(out, a)
	}
}

func bgpEvents(actions []*BGPAction, name string) []*BGPEvent {
	var out []*BGPEvent
	for _, a := range actions {
		if a.Action == "event" && a.Event != nil && a.Event.Event == name {
			out = append(out, a.Event)
		}
	}
	return out
}

// Two sessions wired to each other in memory reach Established, the route one announces
// arrives at the other, and a stop sends Cease with its message.
func TestBGPSessionsExchangeARouteAndACease(t *testing.T) {
	node, err := NewBGPSession(`{"local_asn": 64512, "peer_asn": 64513, "router_id": "10.0.0.2", "next_hop_v4": "10.0.0.2"}`)
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	tor, err := NewBGPSession(`{"local_asn": 64513, "peer_asn": 64512, "router_id": "10.0.0.1", "passive": true}`)
	if err != nil {
		t.Fatal(err)
	}
	defer tor.Close()
	if err := node.Announce(0, "192.0.2.10/32"); err != nil {
		t.Fatal(err)
	}
	node.Start(0)
	tor.Start(0)
	var states []string
	for i := 0; i < 6; i++ {
		for _, e := range bgpEvents(pumpBGP(t, time.Second, node, tor), "state_changed") {
			states = append(states, "node:"+e.To)
		}
		for _, e := range bgpEvents(pumpBGP(t, time.Second, tor, node), "state_changed") {
			states = append(states, "tor:"+e.To)
		}
	}
	for _, h := range []*BGPSession{node, tor} {
		st, err := h.Status(time.Second)
		if err != nil || st.State != "established" || st.Negotiated == nil || st.Negotiated.HoldTime != 90 {
			t.Fatalf("%+v %v (states %v)", st, err, states)
		}
	}
	st, _ := tor.Status(time.Second)
	if st.Stats.RoutesReceived != 1 || st.Negotiated.PeerASN != 64512 {
		t.Fatalf("tor: %+v", st)
	}
	if st, _ := node.Status(time.Second); len(st.Routes) != 1 || st.Routes[0] != "192.0.2.10/32" {
		t.Fatalf("node routes %v", st.Routes)
	}

	// Refused prefixes say why and where.
	var e *Error
	if err := node.Announce(time.Second, "192.0.2.300/32"); !errors.As(err, &e) || e.Kind != "invalid_prefix" || e.Path != "prefix" {
		t.Fatalf("bad prefix: %v", err)
	}
	if err := node.Announce(time.Second, "2001:db8::10/128"); !errors.As(err, &e) || e.Kind != "no_next_hop" {
		t.Fatalf("no IPv6 next hop: %v", err)
	}
	if err := node.Withdraw(time.Second, "192.0.2.10/32"); err != nil {
		t.Fatal(err)
	}
	pumpBGP(t, time.Second, node, tor)
	if st, _ := tor.Status(time.Second); st.Stats.WithdrawalsReceived != 1 {
		t.Fatalf("withdrawals %d", st.Stats.WithdrawalsReceived)
	}

	if err := node.Stop(2*time.Second, "maintenance"); err != nil {
		t.Fatal(err)
	}
	sent := bgpEvents(pumpBGP(t, 2*time.Second, node, tor), "notification_sent")
	if len(sent) != 1 || sent[0].Notification.ErrorCode != 6 || sent[0].Notification.ErrorSubcode != 2 {
		t.Fatalf("Cease sent: %+v", sent)
	}
	heard := bgpEvents(pumpBGP(t, 2*time.Second, tor, node), "notification_received")
	if len(heard) != 1 || heard[0].Notification.ShutdownMessage == nil || *heard[0].Notification.ShutdownMessage != "maintenance" {
		t.Fatalf("Cease heard: %+v", heard)
	}
	if st, _ := tor.Status(2 * time.Second); st.State != "idle" || st.Stats.NotificationsReceived != 1 {
		t.Fatalf("tor after the Cease: %+v", st)
	}
	if _, ok := node.PollTimeout(); ok {
		t.Fatal("a stopped session runs a timer")
	}
	if err := node.BFDDown(3*time.Second, 32); err == nil {
		t.Fatal("diag 32 accepted")
	}
}

func TestBGPConfigErrorsNameTheField(t *testing.T) {
	for _, c := range []struct{ config, kind, path string }{
		{`{"local_asn": 1, "peer_asn": "x", "router_id": "10.0.0.2"}`, "invalid_request", "peer_asn"},
		{`{"local_asn": 1, "peer_asn": 2, "router_id": "10.0.0.2", "hold_time": 1}`, "invalid_config", "hold_time"},
		{`{"local_asn": 1, "peer_asn": 2, "router_id": "0.0.0.0"}`, "invalid_config", "router_id"},
	} {
		_, err := NewBGPSession(c.config)
		var e *Error
		if !errors.As(err, &e) || e.Kind != c.kind || e.Path != c.path || !e.Rejected() {
			t.Errorf("%s: %v", c.config, err)
		}
	}
}
