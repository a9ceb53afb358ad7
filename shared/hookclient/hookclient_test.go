package hookclient_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/events"
	"github.com/doormanhq/doorman/shared/hookclient"
)

// stubResolver answers every name with addrs, as a DNS server under an attacker's
// control could.
func stubResolver(addrs ...string) func(context.Context, string) ([]netip.Addr, error) {
	return func(context.Context, string) ([]netip.Addr, error) {
		var out []netip.Addr
		for _, a := range addrs {
			out = append(out, netip.MustParseAddr(a))
		}
		return out, nil
	}
}

// receiver is a listening loopback server, so that a refused dial is not mistaken
// for one that found nothing listening; hits counts the requests that reached it.
func receiver(t *testing.T) (port string, hits *atomic.Int32) {
	t.Helper()
	hits = &atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u.Port(), hits
}

func TestRefusesForbiddenAddresses(t *testing.T) {
	port, hits := receiver(t)
	h := events.Headers{ID: "evt_1", Timestamp: "1", Signature: "v1,x"}
	tests := []struct {
		name     string
		resolves []string
		loopback bool
		url      string
	}{
		{"private", []string{"10.0.0.7"}, false, "https://hooks.example.com:" + port + "/"},
		{"metadata", []string{"169.254.169.254"}, false, "https://hooks.example.com:" + port + "/"},
		{"metadata IPv6", []string{"fd00:ec2::254"}, false, "https://hooks.example.com:" + port + "/"},
		{"carrier NAT", []string{"100.64.1.1"}, false, "https://hooks.example.com:" + port + "/"},
		{"loopback when not allowed", []string{"127.0.0.1"}, false, "https://hooks.example.com:" + port + "/"},
		{"IPv4-mapped loopback", []string{"::ffff:127.0.0.1"}, false, "https://hooks.example.com:" + port + "/"},
		{"unspecified", []string{"0.0.0.0"}, true, "http://hooks.example.com:" + port + "/"},
		{"a literal private address", nil, false, "https://192.168.1.1:" + port + "/"},
		{"http when deployed", []string{"93.184.215.14"}, false, "http://hooks.example.com:" + port + "/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := hookclient.New(hookclient.Options{AllowLoopback: tc.loopback, Resolve: stubResolver(tc.resolves...), Timeout: 2 * time.Second})
			status, err := c.Post(context.Background(), tc.url, h, []byte("{}"))
			if err == nil || status != 0 {
				t.Fatalf("Post = %d, %v; want refused", status, err)
			}
			if strings.HasPrefix(tc.url, "https") && !errors.Is(err, hookclient.ErrForbiddenAddress) && !strings.Contains(err.Error(), "forbidden") &&
				!strings.Contains(err.Error(), "loopback") {
				t.Errorf("error %v, want the forbidden-address error", err)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the receiver was reached %d times", n)
	}
}

// TestAllowedAddressesAndRedirects: a loopback receiver in a local run is reached, and
// a redirect is answered as it is, not followed.
func TestAllowedAddressesAndRedirects(t *testing.T) {
	port, hits := receiver(t)
	c := hookclient.New(hookclient.Options{AllowLoopback: true, Resolve: stubResolver("127.0.0.1")})
	h := events.Headers{ID: "evt_1", Timestamp: "1", Signature: "v1,x"}
	status, err := c.Post(context.Background(), "http://hooks.example.com:"+port+"/ok", h, []byte("{}"))
	if err != nil || status != http.StatusNoContent {
		t.Fatalf("Post to loopback in a local run = %d, %v; want 204", status, err)
	}
	status, err = c.Post(context.Background(), "http://hooks.example.com:"+port+"/redirect", h, []byte("{}"))
	if err != nil || status != http.StatusFound {
		t.Errorf("redirect = %d, %v; want the 302 itself, not followed", status, err)
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("%d requests reached the receiver, want 2 (the redirect not followed)", n)
	}
	if c.Allowed(netip.MustParseAddr("93.184.215.14")) != true || c.Allowed(netip.MustParseAddr("fe80::1")) {
		t.Error("Allowed: want a public address allowed and a link-local one refused")
	}
}

func TestTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accepts and never answers
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	c := hookclient.New(hookclient.Options{AllowLoopback: true, Resolve: stubResolver("127.0.0.1"), Timeout: 300 * time.Millisecond})
	start := time.Now()
	_, err = c.Post(context.Background(), "http://slow.example.com:"+strings.Split(ln.Addr().String(), ":")[1]+"/", events.Headers{}, nil)
	if err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("Post = %v after %s, want a timeout near 300ms", err, time.Since(start))
	}
}
