package policy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// Engine benchmarks on the demo-size model (DESIGN.md sizes), reported in
// docs/BENCHMARKS-engine.md:
//
//	go test ./policy/ -run '^$' -bench 'Decode|Prefill' -benchtime 5x

func demoEngine(b *testing.B) (*Engine, *Config) {
	c, _ := Preset("demo")
	m, err := NewModel(InitParams[float32](c, 1))
	if err != nil {
		b.Fatal(err)
	}
	return NewEngine(m, "demo"), c
}

func randomPrompt(c *Config, n int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 3))
	p := make([]int, n)
	for i := range p {
		p[i] = rng.IntN(c.VocabSize)
	}
	return p
}

// BenchmarkDecode measures decode throughput (tokens after the first, per
// second of wall clock after the first token) of one request of G samples
// of a 32-token prompt, 64 new tokens each, at temperature 1; G = 1 is the
// batch-size-1 baseline, and the larger groups report their speed-up over
// it. "requests=16" sends 16 concurrent single-sample requests instead
// (continuous batching across requests), and "reference" is the
// full-recompute Generate of sample.go at G = 1.
func BenchmarkDecode(b *testing.B) {
	const promptLen, newTokens = 32, 64
	e, c := demoEngine(b)
	prompt := randomPrompt(c, promptLen, 1)
	var base float64
	for _, g := range []int{1, 8, 16} {
		b.Run(fmt.Sprintf("G=%d", g), func(b *testing.B) {
			req := GenRequest{Prompt: prompt, N: g, MaxTokens: newTokens, Temperature: 1, Seed: 1}
			mustGenerateB(b, e, req) // warm the buffers and the KV pool
			var decode time.Duration
			b.ResetTimer()
			for range b.N {
				res := mustGenerateB(b, e, req)
				decode += res.Total - res.FirstToken
			}
			tps := float64(b.N*g*(newTokens-1)) / decode.Seconds()
			b.ReportMetric(tps, "tokens/s")
			b.ReportMetric(decode.Seconds()*1e3/float64(b.N*(newTokens-1)), "ms/step")
			if g == 1 {
				base = tps
			} else if base > 0 {
				b.ReportMetric(tps/base, "x_vs_G1")
			}
		})
	}
	b.Run("requests=16", func(b *testing.B) {
		req := GenRequest{Prompt: prompt, N: 1, MaxTokens: newTokens, Temperature: 1}
		run := func() {
			var wg sync.WaitGroup
			for i := range 16 {
				r := req
				r.Seed = uint64(i)
				wg.Go(func() { mustGenerateB(b, e, r) })
			}
			wg.Wait()
		}
		run()
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			run()
		}
		b.ReportMetric(float64(b.N*16*newTokens)/time.Since(start).Seconds(), "tokens/s(incl.prefill)")
	})
	b.Run("reference", func(b *testing.B) {
		ws := NewWorkspace[float32](false)
		opts := SampleOptions{MaxTokens: newTokens, Temperature: 1, TopP: 1, Seed: 1}
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			if _, err := Generate(e.cur.m, ws, prompt, opts, 0); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*newTokens)/time.Since(start).Seconds(), "tokens/s(incl.prefill)")
	})
	b.Run("kv", func(b *testing.B) {
		b.ReportMetric(float64(KVBytesPerToken(c)), "KVbytes/token")
	})
}

// BenchmarkPrefill measures time to first token and prefill throughput of
// one request (one sample, one new token) for prompts of 64 and 256 tokens,
// and for 8 concurrent requests of 64 tokens (packed into one prefill).
func BenchmarkPrefill(b *testing.B) {
	e, c := demoEngine(b)
	for _, n := range []int{64, 256} {
		b.Run(fmt.Sprintf("prompt=%d", n), func(b *testing.B) {
			req := GenRequest{Prompt: randomPrompt(c, n, 2), MaxTokens: 1}
			mustGenerateB(b, e, req)
			var ttft time.Duration
			b.ResetTimer()
			for range b.N {
				ttft += mustGenerateB(b, e, req).FirstToken
			}
			b.ReportMetric(ttft.Seconds()*1e3/float64(b.N), "ms_TTFT")
			b.ReportMetric(float64(b.N*n)/ttft.Seconds(), "prompt_tokens/s")
		})
	}
	b.Run("prompt=64x8", func(b *testing.B) {
		run := func() {
			var wg sync.WaitGroup
			for i := range 8 {
				req := GenRequest{Prompt: randomPrompt(c, 64, uint64(i)), MaxTokens: 1}
				wg.Go(func() { mustGenerateB(b, e, req) })
			}
			wg.Wait()
		}
		run()
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			run()
		}
		b.ReportMetric(float64(b.N*8*64)/time.Since(start).Seconds(), "prompt_tokens/s")
	})
}

func mustGenerateB(b *testing.B, e *Engine, req GenRequest) *GenResult {
	res, err := e.Generate(context.Background(), req)
	if err != nil {
		b.Fatal(err)
	}
	return res
}
