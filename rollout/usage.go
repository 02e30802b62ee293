package rollout

import (
	"context"
	"maps"
	"sync"
)

// RoleUsage is what one role has spent.
type RoleUsage struct {
	Calls            int64 `json:"calls"`    // Chat calls
	Failures         int64 `json:"failures"` // Chat calls that finally failed
	Requests         int64 `json:"requests"` // HTTP attempts, retries included (Ollama sends one per choice)
	Retries          int64 `json:"retries"`  // attempts after a retryable failure
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
}

// Meter counts usage per role. It is safe for concurrent use.
type Meter struct {
	mu    sync.Mutex
	roles map[string]*RoleUsage
}

// DefaultMeter counts the usage of every LLM opened without Options.Meter.
var DefaultMeter = NewMeter()

// NewMeter returns an empty meter.
func NewMeter() *Meter { return &Meter{roles: map[string]*RoleUsage{}} }

// Snapshot copies the counts, keyed by role, for metrics.
func (m *Meter) Snapshot() map[string]RoleUsage {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]RoleUsage, len(m.roles))
	for k, v := range maps.All(m.roles) {
		out[k] = *v
	}
	return out
}

// Reset clears every count.
func (m *Meter) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.roles)
}

func (m *Meter) add(role string, f func(u *RoleUsage)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.roles[role]
	if u == nil {
		u = &RoleUsage{}
		m.roles[role] = u
	}
	f(u)
}

// metered counts calls, failures and tokens of any backend, registered ones
// included.
type metered struct {
	llm   LLM
	role  string
	meter *Meter
}

func (l *metered) Chat(ctx context.Context, req ChatRequest) (*ChatResponse, error) {
	resp, err := l.llm.Chat(ctx, req)
	l.meter.add(l.role, func(u *RoleUsage) {
		u.Calls++
		if err != nil {
			u.Failures++
			return
		}
		u.PromptTokens += int64(resp.Usage.PromptTokens)
		u.CompletionTokens += int64(resp.Usage.CompletionTokens)
	})
	return resp, err
}

// Unwrap returns the backend under the usage counter.
func (l *metered) Unwrap() LLM { return l.llm }
