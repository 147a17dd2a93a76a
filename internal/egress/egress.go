// Package egress decides where Hubkeeper connects on a tenant's behalf.
// A base URL a workspace admin sets must name the provider's own hosts
// over https, or a host the operator allows (HUBKEEPER_PROVIDER_HOSTS).
// At dial time, after redirects and DNS answers, loopback, private,
// link-local and metadata addresses are refused unless the operator
// allows that very host, so no tenant can reach the machine's neighbours.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/providerhttp"
)

// Setting is the environment variable that lists the operator's hosts.
const Setting = "HUBKEEPER_PROVIDER_HOSTS"

// Service names a provider endpoint a base URL may point at.
type Service string

// The services whose base URLs tenants may set.
const (
	MetaGraph    Service = "meta_graph"
	Okta         Service = "okta"
	EntraLogin   Service = "entra_login"
	EntraGraph   Service = "entra_graph"
	PinterestWeb Service = "pinterest_web"
	PinterestAPI Service = "pinterest_api"
	// ConsoleIdP is the OpenID Connect issuer a workspace's console signs
	// in with: an Okta org or Entra ID.
	ConsoleIdP Service = "console_idp"
)

// vendorHosts are each service's own hosts; "*." matches any subdomain.
var vendorHosts = map[Service][]string{
	MetaGraph:    {"graph.facebook.com"},
	Okta:         {"*.okta.com", "*.oktapreview.com", "*.okta-emea.com", "*.okta-gov.com", "*.okta.mil"},
	EntraLogin:   {"login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn"},
	EntraGraph:   {"graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us", "microsoftgraph.chinacloudapi.cn"},
	PinterestWeb: {"pinterest.com", "*.pinterest.com"},
	PinterestAPI: {"api.pinterest.com"},
	ConsoleIdP: {"*.okta.com", "*.oktapreview.com", "*.okta-emea.com", "*.okta-gov.com", "*.okta.mil",
		"login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn"},
}

// BrowserHosts are the hosts a Pinterest page may load from: the web app
// and its static content.
var BrowserHosts = []string{"pinterest.com", "*.pinterest.com", "*.pinimg.com"}

// Policy is the operator's part of the rules.
type Policy struct {
	// Allowed are "host" or "host:port" entries the operator trusts: base
	// URLs may name them over http or https, and they are dialed whatever
	// address they resolve to.
	Allowed []string
}

var (
	hostName   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)
	portNumber = regexp.MustCompile(`^[1-9][0-9]{0,4}$`)
)

// Parse reads a comma-separated list of hosts (the Setting's value).
func Parse(list string) (Policy, error) {
	var p Policy
	for _, entry := range strings.Split(list, ",") {
		entry = strings.ToLower(strings.TrimSpace(entry))
		if entry == "" {
			continue
		}
		host, port := entry, "1"
		if h, pt, err := net.SplitHostPort(entry); err == nil {
			host, port = h, pt
		}
		if _, err := netip.ParseAddr(host); (err != nil && !hostName.MatchString(host)) || !portNumber.MatchString(port) {
			return p, fmt.Errorf("%s: %q is not a host or host:port", Setting, entry)
		}
		p.Allowed = append(p.Allowed, entry)
	}
	return p, nil
}

// UnmarshalText parses the Setting's value, for go-envconfig.
func (p *Policy) UnmarshalText(text []byte) error {
	parsed, err := Parse(string(text))
	*p = parsed
	return err
}

// allows reports whether the operator allows host (name or address,
// lower case) on port.
func (p Policy) allows(host, port string) bool {
	host = strings.Trim(host, "[]")
	for _, entry := range p.Allowed {
		h, pt, err := net.SplitHostPort(entry)
		if err != nil {
			h, pt = entry, ""
		}
		if strings.Trim(h, "[]") == host && (pt == "" || pt == port) {
			return true
		}
	}
	return false
}

// CheckBaseURL accepts raw as service's base URL (the API field named
// field): the provider's own host over https on the default port, or an
// operator-allowed host. A refusal says what would allow it.
func (p Policy) CheckBaseURL(service Service, field, raw string) error {
	u, err := providerhttp.BaseURL(field, raw)
	if err != nil {
		return err
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if p.allows(host, port) || u.Scheme == "https" && port == "443" && matches(vendorHosts[service], host) {
		return nil
	}
	return fmt.Errorf("%s must be https://%s (the provider's own host); other hosts only where the operator lists them in %s",
		field, strings.Join(vendorHosts[service], " or https://"), Setting)
}

// AllowsBrowser reports whether the browser may load from host on port:
// the Pinterest web hosts over https, or an operator-allowed host.
func (p Policy) AllowsBrowser(host, port string) bool {
	host = strings.ToLower(strings.Trim(host, "[]"))
	return p.allows(host, port) || (port == "443" && matches(BrowserHosts, host))
}

// matches reports whether host is one of patterns ("*." for subdomains).
func matches(patterns []string, host string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool {
		if suffix, ok := strings.CutPrefix(p, "*"); ok {
			return strings.HasSuffix(host, suffix) && len(host) > len(suffix)
		}
		return host == p
	})
}

// ErrRefused is what a refused dial wraps.
var ErrRefused = errors.New("egress refused")

// Dial connects to addr as net.Dialer does, refusing a loopback, private,
// link-local or metadata address unless the operator allows addr's host.
// A name is resolved once and its checked address dialed, so a second DNS
// answer cannot swap in another.
func (p Policy) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if p.allows(strings.ToLower(host), port) {
		return d.DialContext(ctx, network, addr)
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	for _, ip := range ips {
		if !Public(ip) {
			return nil, fmt.Errorf("%w: %s is %s, which is not a public address; an operator can allow the host in %s",
				ErrRefused, host, ip.Unmap(), Setting)
		}
	}
	var last error
	for _, ip := range ips {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		last = err
	}
	return nil, last
}

// notPublic are ranges beyond the standard library's loopback, private,
// link-local (the cloud metadata service's 169.254.169.254 among them)
// and multicast ones that no provider answers from.
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: an IPv4 address in disguise
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local NAT64
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4: may wrap a private IPv4 address
	netip.MustParsePrefix("fec0::/10"),       // site-local
}

// Public reports whether ip is an address on the public Internet.
func Public(ip netip.Addr) bool {
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	return !slices.ContainsFunc(notPublic, func(p netip.Prefix) bool { return p.Contains(ip) })
}

// Client is an HTTP client whose every connection, redirects included,
// goes through Dial, and which follows a redirect only to the same host.
// It ignores HTTP_PROXY and HTTPS_PROXY: through a proxy, Dial would check
// the proxy, not the provider.
func (p Policy) Client(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy, t.DialContext = nil, p.Dial
	return &http.Client{Timeout: timeout, Transport: t, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
			return fmt.Errorf("%w: a redirect to another host (%s)", ErrRefused, req.URL.Hostname())
		}
		return nil
	}}
}
