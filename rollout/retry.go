package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// exchange is one HTTP attempt as the transport saw it. The client libraries
// (go-openai, ollama/api) turn responses into their own error types and drop
// the headers; the transport keeps what retries and rft's extension fields
// need, so one policy serves both libraries.
type exchange struct {
	extra  map[string]any // fields added to the JSON request body (top_k, sampled_logprobs)
	sent   bool           // the request reached the transport
	status int            // 0 until a response arrived
	header http.Header
	body   []byte // the whole response body
}

type exchangeKey struct{}

func withExchange(ctx context.Context, ex *exchange) context.Context {
	return context.WithValue(ctx, exchangeKey{}, ex)
}

// maxBody bounds a response body read into memory.
const maxBody = 256 << 20

// transport records each response in the request's exchange, reading the
// body inside the attempt (so a server that hangs mid-body times out like
// one that never answers), adds the exchange's extra JSON fields to the
// request body, and sets a Bearer token when the library would not.
type transport struct {
	base   http.RoundTripper
	bearer string
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ex, _ := req.Context().Value(exchangeKey{}).(*exchange)
	if ex != nil {
		ex.sent = true
	}
	if t.bearer != "" && req.Header.Get("Authorization") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+t.bearer)
	}
	if ex != nil && len(ex.extra) > 0 && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		if body, err = addFields(body, ex.extra); err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req.ContentLength = int64(len(body))
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil || ex == nil {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	ex.status, ex.header = resp.StatusCode, resp.Header
	if err != nil {
		return nil, fmt.Errorf("reading the response body: %w", err)
	}
	ex.body = body
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// addFields merges fields into a JSON object.
func addFields(body []byte, fields map[string]any) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("request body: %w", err)
	}
	for k, v := range fields {
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		obj[k] = raw
	}
	return json.Marshal(obj)
}

// permanentError marks a failure that another attempt would repeat (a
// response that parses but breaks the protocol, a bad request).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err} }

// retryable decides whether an attempt that failed with err is worth
// repeating, and the least wait the server asked for. Not retried: a
// request the client library refused before sending it (it would refuse it
// again). Retried: transport
// errors, attempt timeouts, unreadable or malformed bodies of 2xx responses
// (a truncated body is a transport failure), 408, 429 and 5xx. Not retried:
// other 4xx (the request itself is wrong), permanent errors, and anything
// once the caller's ctx has ended.
func retryable(ctx context.Context, ex *exchange, err error, now time.Time) (bool, time.Duration) {
	if ctx.Err() != nil {
		return false, 0
	}
	var p *permanentError
	if errors.As(err, &p) || !ex.sent {
		return false, 0
	}
	switch s := ex.status; {
	case s == http.StatusTooManyRequests, s >= 500:
		return true, retryAfter(ex.header.Get("Retry-After"), now)
	case s == http.StatusRequestTimeout:
		return true, 0
	case s >= 400:
		return false, 0
	}
	return true, 0
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110 §10.2.3). Unparseable or past values give 0.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 || secs > 1e6 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// backoff draws the waits between attempts: full jitter (AWS Architecture
// Blog, "Exponential Backoff and Jitter"): uniform in [0, min(max, base·2^k)]
// before retry k, so clients that failed together do not retry together.
// It has its own seeded RNG, apart from every sampling stream.
type backoff struct {
	base, max time.Duration
	mu        sync.Mutex
	rng       *rand.Rand
}

func newBackoff(base, max time.Duration, seed uint64) *backoff {
	return &backoff{base: base, max: max, rng: rand.New(rand.NewPCG(seed, 0x6a09e667f3bcc909))}
}

// wait is the pause before retry k (0-based), at least serverMin (Retry-After).
func (b *backoff) wait(k int, serverMin time.Duration) time.Duration {
	ceil := b.base
	for i := 0; i < k && ceil < b.max; i++ {
		ceil *= 2
	}
	ceil = min(ceil, b.max)
	b.mu.Lock()
	d := time.Duration(b.rng.Int64N(int64(ceil) + 1))
	b.mu.Unlock()
	return max(d, serverMin)
}
