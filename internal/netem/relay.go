// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package netem emulates network distance on loopback: a TCP relay that
// delays every byte by half a round-trip time in each direction.
//
// The kernel of the machines warmgate is benchmarked on has no netem
// queueing discipline, so the benchmark suite puts a Relay between a
// client and a server instead. With it, a new connection costs what it
// costs on a real link of that RTT:
//
//   - the TCP handshake: 1 RTT. The client's connect() returns at once on
//     loopback, so the relay holds whatever the client sends until one RTT
//     after it accepted the connection (the emulated SYN, SYN-ACK), then
//     delays it by half an RTT like any other byte;
//   - each later exchange (a TLS 1.3 handshake, a request and its answer):
//     1 RTT, half on the way there and half on the way back.
//
// An HTTPS request on a new connection thus takes 3 RTT, and one on a
// warm, reused connection 1 RTT, as on the Internet.
//
// # Timing and memory
//
// Each direction of a connection has a reader and a writer goroutine with
// a bounded queue between them. The reader stamps every chunk it reads with
// its arrival time; the writer delivers it at arrival + RTT/2, in order.
// Delays do not add up: a chunk that waited in the queue behind a late one
// is still due at its own arrival + RTT/2. The queue holds at most
// queueChunks chunks of at most chunkSize bytes (2 MiB per direction);
// when it is full the reader stops reading, and TCP's own flow control
// slows the sender, as a full link would. The relay emulates latency only:
// no bandwidth limit, loss or jitter.
//
// Closing is passed on in order too: when one side ends its stream (EOF),
// the other side's write half is closed RTT/2 later; when one side fails
// (a reset), both connections are closed. A connection pair is closed and
// forgotten once both directions have ended.
package netem

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Queue bounds, per direction of one connection: at most queueChunks
// chunks of at most chunkSize bytes are in flight. 2 MiB per RTT/2 is
// 40 MB/s at 100 ms RTT, far above what the benchmarks send.
const (
	chunkSize   = 32 << 10
	queueChunks = 64
)

// dialTimeout bounds the relay's connect to its target (loopback: an
// unreachable target fails at once).
const dialTimeout = 5 * time.Second

// Relay accepts TCP connections and relays each one to Target with RTT of
// emulated network distance. Make one with Listen; Close stops it.
type Relay struct {
	rtt    time.Duration
	target string
	ln     net.Listener

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // both ends of every live pair
	closed bool
	wg     sync.WaitGroup // the accept loop and every pair's goroutines
}

// Listen starts a relay on addr (e.g. "127.0.0.1:0") to target (host:port)
// with the given round-trip time; rtt 0 relays without delay.
func Listen(addr, target string, rtt time.Duration) (*Relay, error) {
	if rtt < 0 {
		return nil, fmt.Errorf("netem: negative RTT %v", rtt)
	}
	if _, _, err := net.SplitHostPort(target); err != nil {
		return nil, fmt.Errorf("netem: target %q: %w", target, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("netem: %w", err)
	}
	r := &Relay{rtt: rtt, target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	r.wg.Go(r.accept)
	return r, nil
}

// Addr is the relay's listening address (host:port).
func (r *Relay) Addr() string { return r.ln.Addr().String() }

// RTT is the emulated round-trip time.
func (r *Relay) RTT() time.Duration { return r.rtt }

// Close stops accepting, closes every relayed connection and waits for the
// relay's goroutines to end.
func (r *Relay) Close() error {
	r.mu.Lock()
	r.closed = true
	for c := range r.conns {
		_ = c.Close()
	}
	r.mu.Unlock()
	err := r.ln.Close()
	r.wg.Wait()
	return err
}

func (r *Relay) accept() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return // closed; a loopback listener has no temporary errors worth retrying
		}
		accepted := time.Now()
		if !r.track(c) {
			_ = c.Close()
			return
		}
		r.wg.Go(func() { r.serve(c, accepted) })
	}
}

// track registers c so that Close can close it; false once closed.
func (r *Relay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *Relay) forget(cs ...net.Conn) {
	r.mu.Lock()
	for _, c := range cs {
		delete(r.conns, c)
	}
	r.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
	}
}

// serve relays one accepted connection to a new connection to the target.
func (r *Relay) serve(client net.Conn, accepted time.Time) {
	server, err := net.DialTimeout("tcp", r.target, dialTimeout)
	if err != nil || !r.track(server) {
		if server != nil {
			_ = server.Close()
		}
		r.forget(client) // the client sees its connection closed
		return
	}
	p := &pair{a: client, b: server, done: make(chan struct{})}
	half := r.rtt / 2
	var wg sync.WaitGroup
	// Client to server: nothing can have been sent before the emulated
	// TCP handshake ended, one RTT after the accept.
	wg.Go(func() { p.pipe(client, server, half, accepted.Add(r.rtt)) })
	wg.Go(func() { p.pipe(server, client, half, time.Time{}) })
	wg.Wait()
	r.forget(client, server)
}

// pair is one relayed connection: a is the accepted side, b the target's.
type pair struct {
	a, b     net.Conn
	done     chan struct{} // closed when the pair fails: every goroutine stops
	failOnce sync.Once
}

// fail closes both connections at once (a reset, a write error, Close).
func (p *pair) fail() {
	p.failOnce.Do(func() {
		close(p.done)
		_ = p.a.Close()
		_ = p.b.Close()
	})
}

// chunk is what the reader read, due at the writer at due. A chunk with no
// data ends the direction: eof (pass on a half-close) or a failure.
type chunk struct {
	data []byte
	due  time.Time
	eof  bool
}

// pipe relays src to dst, delaying every chunk by delay after its arrival
// (or after notBefore, if it arrived earlier). It returns when the
// direction has ended or the pair has failed.
func (p *pair) pipe(src, dst net.Conn, delay time.Duration, notBefore time.Time) {
	q := make(chan chunk, queueChunks)
	var wg sync.WaitGroup
	wg.Go(func() { p.deliver(q, dst) })
	p.read(src, q, delay, notBefore)
	wg.Wait()
}

// read reads src into chunks until EOF or an error, and queues them with
// their due time. It always queues a final chunk (eof or failure) unless
// the pair failed first, and closes q.
func (p *pair) read(src net.Conn, q chan<- chunk, delay time.Duration, notBefore time.Time) {
	defer close(q)
	due := func() time.Time {
		now := time.Now()
		if now.Before(notBefore) {
			now = notBefore
		}
		return now.Add(delay)
	}
	for {
		buf := make([]byte, chunkSize)
		n, err := src.Read(buf)
		if n > 0 {
			// A fresh buffer per chunk: the writer may still hold the
			// last one. The queue bound caps how many are alive.
			select {
			case q <- chunk{data: buf[:n:n], due: due()}:
			case <-p.done:
				return
			}
		}
		if err != nil {
			select {
			case q <- chunk{due: due(), eof: errors.Is(err, io.EOF)}:
			case <-p.done:
			}
			return
		}
	}
}

// deliver writes each chunk of q to dst at its due time.
func (p *pair) deliver(q <-chan chunk, dst net.Conn) {
	var t *time.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for c := range q {
		if wait := time.Until(c.due); wait > 0 {
			if t == nil {
				t = time.NewTimer(wait)
			} else {
				t.Reset(wait) // Go 1.23+: no stale tick to drain
			}
			select {
			case <-t.C:
			case <-p.done:
				return
			}
		}
		switch {
		case c.data != nil:
			if _, err := dst.Write(c.data); err != nil {
				p.fail()
				return
			}
		case c.eof:
			if cw, ok := dst.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
				return // the other direction goes on until its own end
			}
			p.fail()
			return
		default: // the source failed: a reset reaches the other side
			p.fail()
			return
		}
	}
}
