package redislimit

import (
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// NewClient opens a client for the Redis at url (redis://[:password@]host:port/db,
// or rediss:// for TLS), with every network call bounded by timeout (dial,
// read, write; 0 means DefaultTimeout), so that a Redis that stops
// answering costs a request at most that long. The client reconnects by
// itself after Redis comes back. The error never contains the password.
func NewClient(url string, timeout time.Duration) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		// ParseURL's message can quote the URL, password included.
		return nil, errors.New("invalid Redis URL: use redis://[:password@]host:6379/0, or rediss:// for TLS")
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = timeout, timeout, timeout
	opt.PoolTimeout = timeout
	opt.ContextTimeoutEnabled = true
	// A failed call is the caller's to handle (fail open or closed), at
	// once: retrying inside the client would hold the request longer.
	opt.MaxRetries = -1
	return redis.NewClient(opt), nil
}
