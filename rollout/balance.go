package rollout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
)

// endpoint is one server of a backend.
type endpoint struct {
	url         string
	client      any           // the backend's client for this server
	slots       chan struct{} // holds one token per request in flight: the concurrency limit
	outstanding int           // requests in flight or waiting for a slot; guarded by pool.mu
}

// pool spreads requests over the endpoints of a backend and retries failed
// attempts.
//
// Balancing is least-outstanding: a request goes to the endpoint with the
// fewest requests in flight or queued for it, ties broken round-robin, so a
// slow or saturated server receives less work and equal servers take turns.
// A retry avoids the endpoint that just failed when there is another.
type pool struct {
	backend string
	eps     []*endpoint
	opts    Options
	backoff *backoff

	mu   sync.Mutex
	next int // where the round-robin tie-break starts
}

func newPool(backend string, urls []string, opts Options, client func(url string) (any, error)) (*pool, error) {
	if len(urls) == 0 {
		return nil, fmt.Errorf("no endpoint")
	}
	p := &pool{backend: backend, opts: opts, backoff: newBackoff(opts.BackoffBase, opts.BackoffMax, opts.JitterSeed)}
	for _, u := range urls {
		c, err := client(u)
		if err != nil {
			return nil, err
		}
		p.eps = append(p.eps, &endpoint{url: u, client: c, slots: make(chan struct{}, opts.Concurrency)})
	}
	return p, nil
}

// httpClient is the client every endpoint of a pool sends through.
func httpClient(opts Options, bearer string) *http.Client {
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = opts.Concurrency
	return &http.Client{Transport: &transport{base: base, bearer: bearer}}
}

// pick reserves the least-outstanding endpoint, avoiding avoid if it can.
func (p *pool) pick(avoid *endpoint) *endpoint {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.eps)
	best := -1
	for i := range n {
		j := (p.next + i) % n
		e := p.eps[j]
		if e == avoid && n > 1 {
			continue
		}
		if best < 0 || e.outstanding < p.eps[best].outstanding {
			best = j
		}
	}
	p.next = (best + 1) % n
	p.eps[best].outstanding++
	return p.eps[best]
}

func (p *pool) release(e *endpoint) {
	p.mu.Lock()
	e.outstanding--
	p.mu.Unlock()
}

// attemptFunc sends one request to ep; ex records the HTTP exchange.
type attemptFunc func(ctx context.Context, ep *endpoint, ex *exchange) error

// do runs attempt until it succeeds, fails for good, or the retries run out.
// extra are JSON fields the transport adds to the request body.
func (p *pool) do(ctx context.Context, extra map[string]any, attempt attemptFunc) error {
	var last *endpoint
	tries := p.opts.MaxRetries + 1
	for k := 0; ; k++ {
		ep := p.pick(last)
		last = ep
		ex := &exchange{extra: extra}
		err := p.once(ctx, ep, ex, attempt)
		p.opts.Meter.add(p.opts.Role, func(u *RoleUsage) { u.Requests++ })
		if err == nil {
			return nil
		}
		err = fmt.Errorf("%s %s: attempt %d of %d: %w", p.backend, ep.url, k+1, tries, err)
		retry, serverMin := retryable(ctx, ex, err, p.opts.Now())
		if !retry || k+1 >= tries {
			return err
		}
		p.opts.Meter.add(p.opts.Role, func(u *RoleUsage) { u.Retries++ })
		if serr := p.opts.Sleep(ctx, p.backoff.wait(k, serverMin)); serr != nil {
			return fmt.Errorf("%w (gave up waiting to retry: %w)", err, serr)
		}
	}
}

// once runs one attempt on ep inside its concurrency limit and timeout.
func (p *pool) once(ctx context.Context, ep *endpoint, ex *exchange, attempt attemptFunc) error {
	defer p.release(ep)
	select {
	case ep.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-ep.slots }()
	actx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	err := attempt(withExchange(actx, ex), ep, ex)
	if err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %s: %w", p.opts.Timeout, err)
	}
	return err
}
