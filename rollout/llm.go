// Package rollout holds the policy server (Ollama and OpenAI HTTP APIs over
// rft's native engine), the LLM client backends (openai, ollama, local) and
// group sampling. It must not compute rewards.
package rollout

import "context"

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ChatRequest is one chat completion: N choices of the same conversation.
// Every LLM role (policy, proposer, verifier, judge, reference answers) is
// served through it.
type ChatRequest struct {
	Model       string // backend-specific model name; "" means the endpoint's default
	Messages    []Message
	N           int     // choices; 0 means 1
	Temperature float64 // below 1e-5 is greedy (DESIGN.md decision 6; go-openai drops 0, so clients send 1e-6)
	TopP        float64 // 0 means unset (1)
	TopK        int     // 0 means unset; sent where the backend supports it
	MaxTokens   int     // 0 means the backend's default
	Seed        *int64  // nil: unseeded
	Stop        []string
	Logprobs    bool // per-token log-probabilities of the sampled tokens
	TopLogprobs int  // alternatives per position (with Logprobs)
	// SampledLogprobs asks rft's own server for the log-probabilities of the
	// distribution actually sampled (logits / T) instead of the raw ones the
	// public APIs report; the trainer needs them (DESIGN.md decision 6).
	// Other servers ignore it.
	SampledLogprobs bool
	JSON            bool // ask for a JSON object answer where the backend supports it
}

// TokenLogprob is one alternative at a position.
type TokenLogprob struct {
	Token   string  `json:"token"`
	ID      int     `json:"id,omitempty"`
	Logprob float64 `json:"logprob"`
}

// Choice is one completion.
type Choice struct {
	Text         string
	FinishReason string // "stop" or "length"
	// Token ids and log-probabilities, when the backend returns them (rft's
	// server always returns ids, so the trainer never re-tokenises).
	Tokens      []int
	Logprobs    []float64
	TopLogprobs [][]TokenLogprob
}

// Usage counts tokens, for per-role accounting.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// ChatResponse is the answer to a ChatRequest.
type ChatResponse struct {
	Choices      []Choice
	Usage        Usage
	PromptTokens []int  // ids of the rendered prompt, when the backend returns them
	Model        string // the model that answered
	// WeightVersion names the policy weights that produced the choices (rft's
	// server; "" elsewhere), so the trainer can tell stale rollouts.
	WeightVersion string
}

// LLM is a chat-completion backend: an OpenAI-compatible endpoint, an Ollama
// endpoint, a checkpoint served in-process, or a simulated model.
type LLM interface {
	Chat(ctx context.Context, req ChatRequest) (*ChatResponse, error)
}
