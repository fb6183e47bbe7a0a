package upstream

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"
)

// newTransport builds the one tuned *http.Transport of an upstream. Every
// connection it dials is wrapped in a trackedConn so that the upstream knows
// how many connections are open and in use without asking the transport.
func newTransport(c *Config, u *Upstream) *http.Transport {
	d := &net.Dialer{
		Timeout: c.Timeouts.Connect,
		KeepAliveConfig: net.KeepAliveConfig{
			Enable:   true,
			Idle:     c.Timeouts.KeepAlive,
			Interval: c.Timeouts.KeepAlive / 2,
			Count:    4, // a dead peer is noticed within Idle + 2*Idle
		},
	}
	protos := new(http.Protocols)
	protos.SetHTTP1(true)
	if !c.DisableHTTP2 {
		protos.SetHTTP2(true)
	}
	var tlsConf *tls.Config
	if c.TLS != nil {
		tlsConf = c.TLS.Clone()
	}
	t := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return u.track(conn), nil
		},
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: c.Timeouts.TLS,
		MaxIdleConns:        0, // per-host caps below are what matter
		MaxIdleConnsPerHost: c.MaxIdle,
		MaxConnsPerHost:     c.MaxConns,
		IdleConnTimeout:     c.IdleTimeout,
		// Response headers are bounded per attempt (FirstByte), not here,
		// so that the timer can tell a header timeout from a cancel.
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     !c.DisableHTTP2,
		Protocols:             protos,
		HTTP2: &http.HTTP2Config{
			// A silent HTTP/2 connection is pinged after 30s and dropped
			// 15s later, instead of after the OS's TCP timeout.
			SendPingTimeout: 30 * time.Second,
			PingTimeout:     15 * time.Second,
		},
	}
	return t
}

// trackedConn counts a connection's life and use. It is the innermost
// net.Conn (under TLS), found again from httptrace's GotConnInfo.Conn.
type trackedConn struct {
	net.Conn
	u      *Upstream
	opened time.Time

	mu     sync.Mutex
	inUse  int // requests using the connection now (several on HTTP/2)
	closed bool
}

func (u *Upstream) track(c net.Conn) *trackedConn {
	u.stats.opened.Add(1)
	u.stats.open.Add(1)
	return &trackedConn{Conn: c, u: u, opened: time.Now()}
}

func (c *trackedConn) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		c.u.stats.open.Add(-1)
		c.u.stats.closed.Add(1)
		if c.inUse > 0 {
			c.u.stats.active.Add(-1)
		}
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

// acquire marks one more request on the connection.
func (c *trackedConn) acquire() {
	c.mu.Lock()
	c.inUse++
	if c.inUse == 1 && !c.closed {
		c.u.stats.active.Add(1)
	}
	c.mu.Unlock()
}

// release marks one request fewer on the connection.
func (c *trackedConn) release() {
	c.mu.Lock()
	c.inUse--
	if c.inUse == 0 && !c.closed {
		c.u.stats.active.Add(-1)
	}
	c.mu.Unlock()
}

// trackedFrom finds our wrapper under whatever the transport handed to
// httptrace (a *tls.Conn over TLS).
func trackedFrom(c net.Conn) *trackedConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	t, _ := c.(*trackedConn)
	return t
}
