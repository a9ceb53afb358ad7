// Package hookclient posts webhook deliveries to the URLs customers register, with
// the defences a server that makes requests on others' behalf needs: the address is
// checked after resolution, at connect time (so a DNS answer that changes between a
// check and the connection cannot slip a private address through), redirects are not
// followed, and every request ends within the timeout. It implements events.Sender.
package hookclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/doormanhq/doorman/shared/events"
)

var _ events.Sender = (*Client)(nil)

// DefaultTimeout bounds one delivery, connection included.
const DefaultTimeout = 10 * time.Second

// Options configure a Client.
type Options struct {
	// AllowLoopback admits http:// URLs and loopback addresses (the local run only).
	AllowLoopback bool
	// Resolve resolves a host name; nil means the system resolver. Tests pass a stub.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	Timeout time.Duration // default DefaultTimeout
	// UserAgent is sent with every delivery.
	UserAgent string
}

// Client is events.Sender over HTTP.
type Client struct {
	http *http.Client
	opts Options
}

// ErrForbiddenAddress is a URL that resolves to an address Doorman never posts to.
var ErrForbiddenAddress = errors.New("hookclient: the URL resolves to a private, loopback, link-local or metadata address")

// New returns a Client.
func New(opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Resolve == nil {
		opts.Resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "Doorman-Webhooks/1"
	}
	c := &Client{opts: opts}
	dialer := &net.Dialer{Timeout: opts.Timeout, Control: c.control}
	transport := &http.Transport{
		Proxy: nil, // never through a proxy: the check is on the address connected to
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			var ips []netip.Addr
			if ip, err := netip.ParseAddr(host); err == nil {
				ips = []netip.Addr{ip} // a literal address is checked like a resolved one
			} else if ips, err = c.opts.Resolve(ctx, host); err != nil {
				return nil, fmt.Errorf("hookclient: resolve %s: %w", host, err)
			}
			var last error = ErrForbiddenAddress
			for _, ip := range ips {
				if !c.Allowed(ip) {
					continue
				}
				conn, err := dialer.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
				if err == nil {
					return conn, nil
				}
				last = err
			}
			return nil, last
		},
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	c.http = &http.Client{
		Transport: transport,
		Timeout:   opts.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a 3xx is an answer, and not a success
		},
	}
	return c
}

// control checks the address actually connected to, after every resolution.
func (c *Client) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("hookclient: dial %s: %w", address, err)
	}
	if !c.Allowed(ap.Addr()) {
		return ErrForbiddenAddress
	}
	return nil
}

// Allowed reports whether Doorman may post to ip: a public unicast address, or a
// loopback one when the local run allows it.
func (c *Client) Allowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return c.opts.AllowLoopback
	case !ip.IsValid(), ip.IsUnspecified(), ip.IsPrivate(), ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(),
		ip.IsInterfaceLocalMulticast(), ip.IsMulticast():
		return false
	}
	for _, p := range blocked {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// blocked are the special ranges IsPrivate and friends do not cover: shared address
// space (carrier NAT), the IETF and documentation ranges, benchmarking, reserved,
// the AWS metadata service's IPv6 address, NAT64 and 6to4 (which embed IPv4).
var blocked = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32",
		"fd00:ec2::254/128", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001:db8::/32", "100::/64",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// Post implements events.Sender.
func (c *Client) Post(ctx context.Context, rawURL string, h events.Headers, body []byte) (int, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0, fmt.Errorf("hookclient: %w", err)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && c.opts.AllowLoopback) {
		return 0, errors.New("hookclient: the URL must be https")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("hookclient: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", c.opts.UserAgent)
	req.Header.Set("webhook-id", h.ID)
	req.Header.Set("webhook-timestamp", h.Timestamp)
	req.Header.Set("webhook-signature", h.Signature)
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is the customer's; the attempt record names the endpoint already
		}
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}
