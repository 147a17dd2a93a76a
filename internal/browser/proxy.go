package browser

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/egress"
)

// proxy is Chromium's only way out: an HTTP proxy on loopback that
// forwards to the hosts a Pinterest page may load from (egress.Policy
// AllowsBrowser) and dials them through the policy, so a page can reach
// neither the machine's neighbours nor anyone else.
type proxy struct {
	hosts     egress.Policy
	listener  net.Listener
	server    *http.Server
	transport *http.Transport
	mu        sync.Mutex
	refused   int // requests refused
}

// startProxy listens on a loopback port and serves until close.
func startProxy(hosts egress.Policy) (*proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{hosts: hosts, listener: l, transport: &http.Transport{DialContext: hosts.Dial, Proxy: nil,
		ResponseHeaderTimeout: time.Minute, IdleConnTimeout: time.Minute}}
	p.server = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.server.Serve(l) }()
	return p, nil
}

// addr is the proxy's host:port, for --proxy-server.
func (p *proxy) addr() string { return p.listener.Addr().String() }

func (p *proxy) close() {
	_ = p.server.Close()
	p.transport.CloseIdleConnections()
}

func (p *proxy) refusals() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refused
}

// ServeHTTP tunnels CONNECT (https) and forwards plain http requests, to
// allowed hosts only.
func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if r.Method != http.MethodConnect {
		host = r.URL.Host
	}
	h, port, err := net.SplitHostPort(host)
	if err != nil {
		h, port = host, map[bool]string{true: "443", false: "80"}[r.Method == http.MethodConnect || r.URL.Scheme == "https"]
	}
	if !p.hosts.AllowsBrowser(h, port) {
		p.mu.Lock()
		p.refused++
		p.mu.Unlock()
		http.Error(w, "Hubkeeper's browser may not reach "+h, http.StatusForbidden)
		return
	}
	if r.Method == http.MethodConnect {
		p.tunnel(w, r, net.JoinHostPort(h, port))
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Header.Del("Proxy-Connection")
	out.Header.Del("Proxy-Authorization")
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// tunnel connects the browser to addr and copies bytes both ways.
func (p *proxy) tunnel(w http.ResponseWriter, r *http.Request, addr string) {
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	upstream, err := p.hosts.Dial(ctx, "tcp", addr)
	cancel()
	if err != nil {
		http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		http.Error(w, "no tunnel", http.StatusInternalServerError)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(upstream, buf)
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(conn, upstream)
		done <- struct{}{}
	}()
	<-done
	conn.Close()
	upstream.Close()
	<-done
}
