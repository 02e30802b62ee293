package rollout

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Spec is a parsed model spec BACKEND:MODEL (DESIGN.md, the CLI contract):
// "openai:gpt-4.1-mini", "ollama:qwen3:8b", "local:PATH", "sim".
type Spec struct {
	Backend string
	Model   string // everything after the first colon: "qwen3:8b", a path; "" for "sim"
	Raw     string // the spec as written, for error messages
}

func (s Spec) String() string { return s.Raw }

// ParseSpec splits a model spec at its first colon, so a model name or a
// path may itself hold colons. Only the backend must be non-empty; whether
// the model may be empty is the backend's call.
func ParseSpec(spec string) (Spec, error) {
	backend, model, _ := strings.Cut(spec, ":")
	backend = strings.TrimSpace(backend)
	if backend == "" {
		return Spec{}, fmt.Errorf("rollout: model spec %q: no backend (want BACKEND:MODEL, e.g. openai:gpt-4.1-mini, ollama:qwen3:8b, local:PATH, sim)", spec)
	}
	for _, r := range backend {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return Spec{}, fmt.Errorf("rollout: model spec %q: backend %q is not a lower-case name", spec, backend)
		}
	}
	return Spec{Backend: backend, Model: model, Raw: spec}, nil
}

// Options configure a backend opened by Open. The zero value works: every
// field has a default.
type Options struct {
	// BaseURLs are the endpoints, load-balanced; each entry may itself hold
	// several, comma-separated. Empty: the backend's environment variable
	// (OPENAI_BASE_URL, OLLAMA_HOST; comma-separated lists allowed there too),
	// then its default.
	BaseURLs []string
	APIKey   string // empty: OPENAI_API_KEY (openai); sent as a Bearer token

	Timeout     time.Duration // one attempt, from the moment it holds a slot; 0: DefaultTimeout
	Concurrency int           // requests in flight per endpoint; 0: DefaultConcurrency
	MaxRetries  int           // retries after the first attempt; 0: DefaultMaxRetries; negative: none
	BackoffBase time.Duration // first backoff ceiling; 0: DefaultBackoffBase
	BackoffMax  time.Duration // largest backoff ceiling; 0: DefaultBackoffMax

	// Role names the LLM's job (policy, proposer, verifier, judge, ...);
	// usage is counted under it. Empty: the spec.
	Role  string
	Meter *Meter // where usage is counted; nil: DefaultMeter

	// JitterSeed seeds the backoff jitter's own RNG, so retries never draw
	// from the streams that make rollouts reproducible.
	JitterSeed uint64
	// Sleep waits between retries; nil sleeps on a timer (tests inject a
	// recorder). It returns ctx's error if ctx ends first.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now reads the clock for Retry-After HTTP dates; nil: time.Now.
	Now func() time.Time
}

// Defaults of Options.
const (
	DefaultTimeout     = 10 * time.Minute // long generations on slow servers are normal
	DefaultConcurrency = 16
	DefaultMaxRetries  = 4
	DefaultBackoffBase = 500 * time.Millisecond
	DefaultBackoffMax  = 30 * time.Second
)

func (o Options) withDefaults(spec Spec) Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = DefaultMaxRetries
	case o.MaxRetries < 0:
		o.MaxRetries = 0
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = DefaultBackoffBase
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = DefaultBackoffMax
	}
	if o.Role == "" {
		o.Role = spec.Raw
	}
	if o.Meter == nil {
		o.Meter = DefaultMeter
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Factory opens one backend. opts has its defaults applied; the LLM it
// returns is wrapped by Open to count usage, so a factory need not.
type Factory func(spec Spec, opts Options) (LLM, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
)

// Register makes a backend available to Open under its name, so that other
// packages (tasks/tailworld registers "sim") add backends without rollout
// importing them. Registering a name twice panics, as database/sql does.
func Register(backend string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if f == nil {
		panic("rollout: Register " + backend + ": nil factory")
	}
	if _, dup := registry[backend]; dup {
		panic("rollout: Register " + backend + ": registered twice")
	}
	registry[backend] = f
}

// Backends lists the registered backend names, sorted.
func Backends() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return slices.Sorted(maps.Keys(registry))
}

func init() {
	Register("openai", openOpenAI)
	Register("ollama", openOllama)
	Register("local", openLocal)
}

// Open parses a model spec and opens its backend. The LLM it returns counts
// its calls, failures and tokens under opts.Role in opts.Meter; the HTTP
// backends also count their requests and retries there.
func Open(spec string, opts Options) (LLM, error) {
	s, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	registryMu.RLock()
	f, ok := registry[s.Backend]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("rollout: model spec %q: unknown backend %q (registered: %s)", spec, s.Backend, strings.Join(Backends(), ", "))
	}
	opts = opts.withDefaults(s)
	llm, err := f(s, opts)
	if err != nil {
		return nil, fmt.Errorf("rollout: model spec %q: %w", spec, err)
	}
	return &metered{llm: llm, role: opts.Role, meter: opts.Meter}, nil
}

// splitList splits comma-separated entries and drops empty ones.
func splitList(entries ...string) []string {
	var out []string
	for _, e := range entries {
		for _, p := range strings.Split(e, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
