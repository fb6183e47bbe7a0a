// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"sync"
	"time"
)

// An HTTP/1.1 exchange runs in the caller's goroutine: the request is
// written by net/http's Request.Write to a pooled bufio.Writer (h1Writers),
// the answer read by http.ReadResponse from the connection's bufio.Reader
// (framing by Content-Length or chunked, HEAD, 1xx and "Connection: close"
// are net/http's). The connection has no goroutine of its own:
// http.ClientConn's HTTP/1.1 keeps two per connection (a writer and a
// reader) and hands every request and answer between them, which cost more
// time, allocations and memory per held stream (BENCHMARKS.md,
// BenchmarkTransport). HTTP/2, and HTTP/1.1 through a proxy, stay on
// http.ClientConn.
//
// Without a reader goroutine nobody sees an idle connection close; it is
// looked at before each reuse instead (alive), and by the keeper between
// requests (sweepOwn). A server that drops the connection after the check
// is the stale keep-alive race that stale-safe replay already handles.

// maxResponseHeaderBytes bounds a response's header, as net/http's
// Transport does by default (10 MiB): a server sending headers for ever
// cannot make the pool buffer them for ever.
const maxResponseHeaderBytes = 10 << 20

// max1xx bounds the informational (1xx) answers skipped before the final
// one, as net/http does.
const max1xx = 5

// earlyAnswerWait is how long an answer is looked for after the request
// failed to write: a server may answer (a 413, a 401) before it read the
// whole body, and close.
const earlyAnswerWait = 50 * time.Millisecond

var (
	errH1Closed        = errors.New("upstream: HTTP/1.1 connection closed")
	errHeaderTooLarge  = fmt.Errorf("upstream: response header larger than %d bytes", maxResponseHeaderBytes)
	errSwitchProtocols = errors.New("upstream: the server switched protocols (101), which the pool does not relay")
	aLongTimeAgo       = time.Unix(1, 0)
)

// tlsReadBuf is the read buffer of a connection over TLS. TLS reads a whole
// record (up to 16 KiB) into its own buffer and hands it out from there,
// without a system call, so a larger buffer above it saves nothing; it
// would stay for a held stream's whole life. A plain connection keeps
// bufio's 4 KiB: each fill of it is a system call.
const tlsReadBuf = 1 << 10

// h1Writers are the buffers requests are written through. A connection
// needs one only while it writes a request: held by the connection, it
// would stay for a held stream's whole life (4 KiB per stream) and for
// every idle connection.
var h1Writers = sync.Pool{New: func() any { return bufio.NewWriter(nil) }}

// h1conn is one HTTP/1.1 connection whose exchanges run in the caller's
// goroutine. One exchange at a time: the pool gives it to one request and
// takes it back when that request's body ends.
type h1conn struct {
	nc   net.Conn // as dialed: TLS over the connection, or the connection
	raw  net.Conn // under TLS: what the liveness check looks at
	lim  limitReader
	br   *bufio.Reader
	peek peeker // looks at the socket (see alive)
	// onClose tells the pool, once, that the connection closed.
	onClose func()

	mu     sync.Mutex
	closed bool
}

func newH1conn(nc, raw net.Conn, onClose func()) *h1conn {
	c := &h1conn{nc: nc, raw: raw, onClose: onClose}
	c.lim = limitReader{r: nc, n: math.MaxInt64}
	if _, ok := nc.(*tls.Conn); ok {
		c.br = bufio.NewReaderSize(&c.lim, tlsReadBuf)
	} else {
		c.br = bufio.NewReader(&c.lim)
	}
	c.peek = newPeeker(raw)
	return c
}

// err is errH1Closed once the connection closed, else nil.
func (c *h1conn) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errH1Closed
	}
	return nil
}

// close closes the connection and tells the pool, once.
func (c *h1conn) close() {
	c.mu.Lock()
	was := c.closed
	c.closed = true
	c.mu.Unlock()
	if was {
		return
	}
	_ = c.nc.Close()
	if c.onClose != nil {
		c.onClose()
	}
}

// alive reports whether an idle connection may carry a request: nothing
// came in while it was idle (no close, no reset, no stray bytes). A look
// at the socket that does not read (see peeker) costs one system call.
// When it cannot tell (not a socket; bytes came on a TLS connection,
// which may be a session ticket rather than a goodbye), a read through
// the connection bounded by peekWait decides: TLS handles what it
// reads, and only a wait that ends with nothing means open.
func (c *h1conn) alive() bool {
	if c.err() != nil || c.br.Buffered() > 0 {
		return false
	}
	switch c.peek.peek() {
	case peekOpen:
		return true
	case peekClosed:
		return false
	case peekData:
		if _, ok := c.nc.(*tls.Conn); !ok {
			return false
		}
	}
	if c.nc.SetReadDeadline(time.Now().Add(peekWait)) != nil {
		return false
	}
	if _, err := c.br.Peek(1); !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	return c.nc.SetReadDeadline(time.Time{}) == nil
}

// roundTrip sends req and reads its answer's header. The answer's body,
// when read to its end, gives the connection back for another exchange
// (unless either side said "Connection: close"); closed before its end, it
// closes the connection. A canceled request context cuts the exchange (and
// the connection) at once. The request's httptrace hooks hear
// WroteRequest (from Request.Write, and again if the flush failed) and
// GotFirstResponseByte.
func (c *h1conn) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	trace := httptrace.ContextClientTrace(ctx)
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(aLongTimeAgo) })

	// Request.Write tells the trace hooks it wrote the request (into
	// the buffer, as net/http's own HTTP/1.1 does); if the flush then
	// fails, the request did not reach the server whole: the hooks hear
	// that too.
	bw := h1Writers.Get().(*bufio.Writer)
	bw.Reset(c.nc)
	err := req.Write(bw)
	if err == nil {
		if err = bw.Flush(); err != nil && trace != nil && trace.WroteRequest != nil {
			trace.WroteRequest(httptrace.WroteRequestInfo{Err: err})
		}
	}
	bw.Reset(nil)
	h1Writers.Put(bw)
	if err != nil {
		// The server may have answered early and closed: its answer
		// wins, as with net/http; else the write's error.
		if ctx.Err() == nil {
			_ = c.nc.SetReadDeadline(time.Now().Add(earlyAnswerWait))
		}
		resp, rerr := c.readResponse(req, trace)
		if rerr != nil {
			stop()
			c.close()
			return nil, canceled(ctx, err)
		}
		resp.Close = true
		return c.wrap(req, resp, stop), nil
	}
	resp, err := c.readResponse(req, trace)
	if err != nil {
		stop()
		c.close()
		return nil, canceled(ctx, err)
	}
	return c.wrap(req, resp, stop), nil
}

// canceled is err, or the context's cause when the context ended: the
// deadline error of a cut exchange says nothing.
func canceled(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// readResponse reads the final answer's header, after any 1xx answers.
func (c *h1conn) readResponse(req *http.Request, trace *httptrace.ClientTrace) (*http.Response, error) {
	if _, err := c.br.Peek(1); err != nil {
		return nil, err
	}
	if trace != nil && trace.GotFirstResponseByte != nil {
		trace.GotFirstResponseByte()
	}
	for range max1xx + 1 {
		c.lim.n = maxResponseHeaderBytes
		resp, err := http.ReadResponse(c.br, req)
		c.lim.n = math.MaxInt64
		if err != nil {
			return nil, err
		}
		switch {
		case resp.StatusCode == http.StatusSwitchingProtocols:
			return nil, errSwitchProtocols
		case resp.StatusCode >= 100 && resp.StatusCode < 200:
			continue // informational: the answer follows
		}
		return resp, nil
	}
	return nil, fmt.Errorf("upstream: more than %d informational (1xx) answers", max1xx)
}

// wrap gives resp a body that ends the exchange; stop ends the
// cancellation watch.
func (c *h1conn) wrap(req *http.Request, resp *http.Response, stop func() bool) *http.Response {
	keep := !resp.Close && !req.Close
	if resp.Body == http.NoBody {
		c.end(stop, keep)
		return resp
	}
	resp.Body = &h1body{c: c, rc: resp.Body, ctx: req.Context(), stop: stop, keep: keep}
	return resp
}

// end ends an exchange: the connection is ready for the next one if keep
// and the request's context did not cut it; else it closes.
func (c *h1conn) end(stop func() bool, keep bool) {
	if !stop() {
		keep = false // the context ended: the deadline is set, the exchange cut
	}
	if keep && c.nc.SetDeadline(time.Time{}) == nil {
		return
	}
	c.close()
}

// h1body is an answer's body on an h1conn.
type h1body struct {
	c    *h1conn
	rc   io.ReadCloser // http.ReadResponse's: framed by Content-Length or chunks
	ctx  context.Context
	stop func() bool
	keep bool
	once sync.Once
}

func (b *h1body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil {
		eof := err == io.EOF
		b.once.Do(func() { b.c.end(b.stop, b.keep && eof) })
		if !eof {
			err = canceled(b.ctx, err)
		}
	}
	return n, err
}

// Close before the end of the body closes the connection: the rest of the
// answer is not read (it may be a stream without end). It does not close
// rc, whose Close would read the rest.
func (b *h1body) Close() error {
	b.once.Do(func() { b.c.end(b.stop, false) })
	return nil
}

// limitReader bounds what the bufio.Reader may read while a response
// header is read (n), and nothing otherwise (n is MaxInt64).
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
