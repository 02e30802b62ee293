package rubric

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rft-dev/rft/rollout"
)

// BenchmarkVerifierThroughput: batched verification against an
// OpenAI-compatible fake judge with a fixed 20 ms latency, through
// rollout.Open as in production, at several concurrency levels. The goal is
// at least 0.9 × concurrency / latency calls per second ("efficiency").
func BenchmarkVerifierThroughput(b *testing.B) {
	const latency = 20 * time.Millisecond
	r := testRubric("bench")
	for _, c := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("concurrency=%d", c), func(b *testing.B) {
			srv := newJudgeServer(&testing.T{}, "openai", false, latency)
			defer srv.Close()
			llm := openJudgeB(b, srv, c)
			g := &Grader{Verifier: &LLMVerifier{LLM: llm, Name: "openai:judge"}, Policy: DefaultRetryPolicy(), Concurrency: c}
			its := make([]Item, b.N)
			for i := range its {
				its[i] = Item{Rubric: r, Response: fmt.Sprintf("bench response %d", i)}
			}
			b.ResetTimer()
			start := time.Now()
			res := g.GradeBatch(context.Background(), its)
			el := time.Since(start)
			b.StopTimer()
			for _, x := range res {
				if x.Err != nil {
					b.Fatal(x.Err)
				}
			}
			calls := float64(g.Stats().Calls)
			perSec := calls / el.Seconds()
			ideal := float64(c) / latency.Seconds()
			b.ReportMetric(perSec, "calls/s")
			b.ReportMetric(perSec/ideal, "efficiency")
		})
	}
}

func openJudgeB(b *testing.B, s *judgeServer, c int) rollout.LLM {
	llm, err := rollout.Open("openai:judge", rollout.Options{BaseURLs: []string{s.URL}, Concurrency: c, Meter: rollout.NewMeter(), Role: "verifier"})
	if err != nil {
		b.Fatal(err)
	}
	return llm
}

// BenchmarkCallsPerResponse: verifier calls per response by mode for a
// rubric of five LLM criteria and one programmatic check (never sent).
func BenchmarkCallsPerResponse(b *testing.B) {
	r := testRubric("bench")
	for _, mode := range []Mode{ModeBatched, ModeChunk(2), ModePerCriterion} {
		b.Run("mode="+string(mode), func(b *testing.B) {
			g := &Grader{Verifier: &scriptVerifier{}, Mode: mode, Policy: DefaultRetryPolicy(), Concurrency: 8}
			its := make([]Item, b.N)
			for i := range its {
				its[i] = Item{Rubric: r, Response: fmt.Sprintf("response %d", i)}
			}
			b.ResetTimer()
			g.GradeBatch(context.Background(), its)
			b.ReportMetric(float64(g.Stats().Calls)/float64(b.N), "calls/response")
		})
	}
}

// sleepyLLM answers like the fake judge after a fixed latency, in process:
// BenchmarkGraderThroughput isolates the grader's own concurrency from the
// CPU that an HTTP stack and a fake server spend on a small machine.
type sleepyLLM struct {
	fakeLLM
	latency time.Duration
}

func (s *sleepyLLM) Chat(ctx context.Context, req rollout.ChatRequest) (*rollout.ChatResponse, error) {
	time.Sleep(s.latency)
	return s.fakeLLM.Chat(ctx, req)
}

// BenchmarkGraderThroughput: as BenchmarkVerifierThroughput, without HTTP.
func BenchmarkGraderThroughput(b *testing.B) {
	const latency = 20 * time.Millisecond
	r := testRubric("bench")
	for _, c := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("concurrency=%d", c), func(b *testing.B) {
			g := &Grader{Verifier: &LLMVerifier{LLM: &sleepyLLM{latency: latency}, Name: "sleepy"}, Policy: DefaultRetryPolicy(), Concurrency: c}
			its := make([]Item, b.N)
			for i := range its {
				its[i] = Item{Rubric: r, Response: fmt.Sprintf("bench response %d", i)}
			}
			b.ResetTimer()
			start := time.Now()
			g.GradeBatch(context.Background(), its)
			el := time.Since(start)
			perSec := float64(g.Stats().Calls) / el.Seconds()
			b.ReportMetric(perSec, "calls/s")
			b.ReportMetric(perSec/(float64(c)/latency.Seconds()), "efficiency")
		})
	}
}
