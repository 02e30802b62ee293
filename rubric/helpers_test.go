package rubric

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rft-dev/rft/rollout"
)

// truth is the scripted judges' verdict: deterministic in the criterion text
// and the response, so every fault-free run agrees.
func truth(text, response string) bool {
	h := fnv.New32a()
	h.Write([]byte(text + "\x00" + response))
	return h.Sum32()%3 != 0
}

func hashOf(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// answerFor is a good batched answer to a VerifyRequest.
func answerFor(req VerifyRequest) string {
	if req.Mode == ModeImplicit {
		return fmt.Sprintf(`{"score": %d}`, 1+hashOf(req.Response)%10)
	}
	m := map[string]string{}
	for _, c := range req.Criteria {
		m[c.ID] = map[bool]string{true: "yes", false: "no"}[truth(c.Text, req.Response)]
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// scriptVerifier answers VerifyRequests; fault, when set, may replace an
// answer (ok true) with malformed text, a partial answer or an error.
type scriptVerifier struct {
	calls atomic.Int64
	mu    sync.Mutex
	reqs  []VerifyRequest
	fault func(req VerifyRequest) (string, error, bool)
}

func (s *scriptVerifier) Verify(ctx context.Context, req VerifyRequest) (string, error) {
	s.calls.Add(1)
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	if s.fault != nil {
		if raw, err, ok := s.fault(req); ok {
			return raw, err
		}
	}
	return answerFor(req), nil
}

func (s *scriptVerifier) Fingerprint() string { return "script" }

var (
	critLine     = regexp.MustCompile(`(?m)^(c\d+): (.*)$`)
	responseBody = regexp.MustCompile(`(?s)<response>\n(.*?)\n</response>`)
)

// judgeFromPrompt answers a rendered verifier prompt the way answerFor does,
// reading the criteria and the response back out of the text: the fake LLMs
// and HTTP servers use it.
func judgeFromPrompt(prompt string) string {
	m := responseBody.FindStringSubmatch(prompt)
	if m == nil {
		return "I cannot find the response."
	}
	resp := m[1]
	if strings.Contains(prompt, "<rubric>") {
		return fmt.Sprintf(`{"score": %d}`, 1+hashOf(resp)%10)
	}
	out := map[string]string{}
	for _, c := range critLine.FindAllStringSubmatch(prompt, -1) {
		out[c[1]] = map[bool]string{true: "yes", false: "no"}[truth(c[2], resp)]
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// fakeLLM is an in-process rollout.LLM that judges rendered prompts.
type fakeLLM struct {
	calls   atomic.Int64
	answer  func(prompt string) string
	prompts chan string // optional: every prompt sent
}

func (f *fakeLLM) Chat(ctx context.Context, req rollout.ChatRequest) (*rollout.ChatResponse, error) {
	f.calls.Add(1)
	if len(req.Messages) == 0 {
		return nil, errors.New("no messages")
	}
	p := req.Messages[len(req.Messages)-1].Content
	if f.prompts != nil {
		f.prompts <- p
	}
	ans := judgeFromPrompt(p)
	if f.answer != nil {
		ans = f.answer(p)
	}
	return &rollout.ChatResponse{Choices: []rollout.Choice{{Text: ans, FinishReason: "stop"}}, Usage: rollout.Usage{PromptTokens: len(p) / 4, CompletionTokens: len(ans) / 4}}, nil
}

// testRubric has five LLM criteria and one programmatic check.
func testRubric(id string) *Rubric {
	r := &Rubric{PromptID: id, Prompt: "Explain why the moon shows phases (" + id + ").", Criteria: []Criterion{
		{Text: "Attributes phases to the changing sun-Earth-moon angle.", Weight: 3},
		{Text: "States that the moon reflects sunlight.", Weight: 2},
		{Text: "Corrects the Earth's-shadow misconception.", Weight: 2},
		{Text: "Names at least four phases in order.", Weight: 1},
		{Text: "Mentions that one cycle takes about 29.5 days.", Weight: 1},
		{Text: "Stays under 120 words.", Weight: 1, Check: &Check{Name: "word_count", Args: map[string]any{"max": 120}}},
	}}
	r.AssignIDs()
	return r
}

func testResponses(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("Response %d: the moon reflects sunlight and its visible lit part changes as it orbits (%d).", i, i*7919)
	}
	return out
}
