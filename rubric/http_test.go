package rubric

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rft-dev/rft/rollout"
)

// Faults a scripted judge server serves on the first request for a prompt.
const (
	faultNone = iota
	faultMalformed
	faultPartial
	fault500
	fault429
	faultHang
	nFaults
)

// judgeServer is an httptest judge speaking the OpenAI chat-completions API
// (POST /v1/chat/completions) or Ollama's (POST /api/chat). With faults on,
// the first request for each distinct prompt gets a fault chosen by the
// prompt's hash; later requests for it are answered well.
type judgeServer struct {
	*httptest.Server
	kind   string
	faults bool
	mu     sync.Mutex
	seen   map[string]int
	served [nFaults]int
	late   int // answers written after the client had given up (a slow machine)
}

func newJudgeServer(t *testing.T, kind string, faults bool, latency time.Duration) *judgeServer {
	s := &judgeServer{kind: kind, faults: faults, seen: map[string]int{}}
	path := map[string]string{"openai": "/v1/chat/completions", "ollama": "/api/chat"}[kind]
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+path, s.handle(latency))
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *judgeServer) handle(latency time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
			http.Error(w, `{"error": "bad request"}`, http.StatusBadRequest)
			return
		}
		prompt := req.Messages[len(req.Messages)-1].Content
		fault := faultNone
		s.mu.Lock()
		n := s.seen[prompt]
		s.seen[prompt]++
		if s.faults && n == 0 {
			fault = int(hashOf(prompt) % nFaults)
			if fault == faultPartial && len(critLine.FindAllString(prompt, -1)) < 2 {
				fault = faultNone
			}
		}
		s.served[fault]++
		s.mu.Unlock()
		if latency > 0 {
			time.Sleep(latency)
		}
		answer := judgeFromPrompt(prompt)
		switch fault {
		case faultMalformed:
			answer = "Here are my verdicts:\n```json\n{\"c1\": \"yes\", \"c2\": \n```"
		case faultPartial:
			var m map[string]string
			json.Unmarshal([]byte(answer), &m)
			for id := range m {
				delete(m, id) // drop one criterion
				break
			}
			b, _ := json.Marshal(m)
			answer = string(b)
		case fault500:
			defer s.checkLate(r)
			http.Error(w, `{"error": "overloaded"}`, http.StatusInternalServerError)
			return
		case fault429:
			defer s.checkLate(r)
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"error": "rate limited"}`, http.StatusTooManyRequests)
			return
		case faultHang:
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
		defer func() {
			if r.Context().Err() != nil {
				s.mu.Lock()
				s.late++
				s.mu.Unlock()
			}
		}()
		w.Header().Set("Content-Type", "application/json")
		if s.kind == "openai" {
			json.NewEncoder(w).Encode(map[string]any{
				"id": "x", "object": "chat.completion", "model": "judge",
				"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
					"message": map[string]any{"role": "assistant", "content": answer}}},
				"usage": map[string]any{"prompt_tokens": len(prompt) / 4, "completion_tokens": len(answer) / 4, "total_tokens": 0},
			})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"model": "judge", "created_at": time.Now().UTC().Format(time.RFC3339Nano),
			"message": map[string]any{"role": "assistant", "content": answer},
			"done":    true, "done_reason": "stop", "prompt_eval_count": len(prompt) / 4, "eval_count": len(answer) / 4,
		})
	}
}

func (s *judgeServer) checkLate(r *http.Request) {
	if r.Context().Err() != nil {
		s.mu.Lock()
		s.late++
		s.mu.Unlock()
	}
}

// openJudge opens the server through rollout.Open as the CLI does, with
// short timeouts and a recorded (not slept) backoff.
func openJudge(t *testing.T, s *judgeServer, meter *rollout.Meter, sleeps *[]time.Duration, mu *sync.Mutex) rollout.LLM {
	t.Helper()
	spec := s.kind + ":judge"
	llm, err := rollout.Open(spec, rollout.Options{
		BaseURLs: []string{s.URL}, Role: "verifier", Meter: meter, Concurrency: 32,
		Timeout: time.Second, MaxRetries: 3,
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			*sleeps = append(*sleeps, d)
			mu.Unlock()
			return ctx.Err()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return llm
}

// TestHTTPJudgesFaults: OpenAI-compatible and Ollama judges scripted to
// return good answers, malformed JSON, partial answers, 500s, 429s with
// Retry-After and hangs. Every job finishes, retries and failures are
// counted, and every score equals the fault-free run's.
func TestHTTPJudgesFaults(t *testing.T) {
	r := testRubric("p")
	r2 := testRubric("q")
	for _, kind := range []string{"openai", "ollama"} {
		for _, mode := range []Mode{ModeBatched, ModePerCriterion} {
			n := map[Mode]int{ModeBatched: 30, ModePerCriterion: 8}[mode]
			var its []Item
			for _, s := range testResponses(n) {
				its = append(its, Item{Rubric: r, Response: s}, Item{Rubric: r2, Response: s})
			}
			t.Run(kind+"/"+string(mode), func(t *testing.T) {
				grade := func(faults bool) ([]Result, *judgeServer, *Grader, rollout.RoleUsage, []time.Duration) {
					srv := newJudgeServer(t, kind, faults, 0)
					meter := rollout.NewMeter()
					var sleeps []time.Duration
					var mu sync.Mutex
					v := &LLMVerifier{LLM: openJudge(t, srv, meter, &sleeps, &mu), Name: kind + ":judge"}
					g := &Grader{Verifier: v, Mode: mode, Policy: DefaultRetryPolicy(), Concurrency: 16}
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					res := g.GradeBatch(ctx, its)
					return res, srv, g, meter.Snapshot()["verifier"], sleeps
				}
				want, _, _, _, _ := grade(false)
				got, srv, g, use, sleeps := grade(true)
				for i := range got {
					if want[i].Err != nil || got[i].Err != nil || got[i].Score != want[i].Score {
						t.Fatalf("item %d: score %v (%v), fault-free %v (%v)", i, got[i].Score, got[i].Err, want[i].Score, want[i].Err)
					}
					for id, v := range got[i].Verdicts {
						if v.Met != want[i].Verdicts[id].Met || v.Source == "default" {
							t.Fatalf("item %d %s: %+v vs %+v", i, id, v, want[i].Verdicts[id])
						}
					}
				}
				st := g.Stats()
				for f, name := range []string{"good", "malformed", "partial", "500", "429", "hang"} {
					if srv.served[f] == 0 && !(mode == ModePerCriterion && f == faultPartial) {
						t.Errorf("no %s answer served", name)
					}
				}
				transport := srv.served[fault500] + srv.served[fault429] + srv.served[faultHang]
				retryAfter := 0
				for _, d := range sleeps {
					if d >= time.Second {
						retryAfter++
					}
				}
				if st.Failed != 0 || use.Failures != 0 {
					t.Errorf("failures: grader %+v, client %+v", st, use)
				}
				total := 0
				for _, k := range srv.served {
					total += k
				}
				// Exact accounting, unless the machine was so loaded that a
				// good answer arrived after the client's 1 s timeout (then
				// that attempt is one more transport retry).
				if exact := srv.late == 0 && use.Requests == int64(total); exact {
					if st.ParseFailures != int64(srv.served[faultMalformed]) || st.MissingAsked != int64(srv.served[faultPartial]) ||
						use.Retries != int64(transport) || retryAfter != srv.served[fault429] {
						t.Errorf("grader %+v, client %+v, %d Retry-After waits; served %v", st, use, retryAfter, srv.served)
					}
				} else if st.ParseFailures > int64(srv.served[faultMalformed]) || use.Retries < int64(transport) {
					t.Errorf("grader %+v, client %+v; served %v (%d late)", st, use, srv.served, srv.late)
				}
				if use.PromptTokens == 0 || use.CompletionTokens == 0 {
					t.Errorf("no token usage counted: %+v", use)
				}
				t.Logf("served %v; grader %+v; client %+v", srv.served, st, use)
			})
		}
	}
}

// TestHTTPJudgeDownFailsResponses: a judge that always errors yields
// responses with an error and no score, and the job still ends.
func TestHTTPJudgeDownFailsResponses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad gateway", http.StatusBadGateway)
	}))
	defer srv.Close()
	llm, err := rollout.Open("openai:judge", rollout.Options{BaseURLs: []string{srv.URL}, MaxRetries: 1, Meter: rollout.NewMeter(),
		Sleep: func(ctx context.Context, d time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	g := &Grader{Verifier: &LLMVerifier{LLM: llm, Name: "openai:judge"}, Policy: DefaultRetryPolicy()}
	res := g.GradeBatch(context.Background(), items(testRubric("p"), testResponses(3)))
	for i, x := range res {
		if x.Err == nil || !strings.Contains(x.Err.Error(), "after 3 attempts") {
			t.Errorf("response %d: %v", i, x.Err)
		}
		rec := NewScoreRecord(Candidate{PromptID: "p", Index: i}, x)
		b, _ := json.Marshal(rec)
		if strings.Contains(string(b), `"score"`) || !strings.Contains(string(b), `"error"`) {
			t.Errorf("record %s", b)
		}
	}
	if st := g.Stats(); st.Failed != 3 || st.CallErrors != 9 {
		t.Errorf("stats %+v", st)
	}
}
