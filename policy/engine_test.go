package policy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func tinyEngine(t *testing.T, arch string, seed uint64) (*Engine, *Model[float32]) {
	t.Helper()
	m, err := NewModel(perturbedParams[float32](tinyConfigs()[arch], seed))
	if err != nil {
		t.Fatal(err)
	}
	return NewEngine(m, fmt.Sprintf("%s-%d", arch, seed)), m
}

func mustGenerate(t *testing.T, e *Engine, req GenRequest) *GenResult {
	t.Helper()
	res, err := e.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// sameResult reports the first difference between two results, bitwise on
// log-probabilities.
func sameResult(a, b *GenResult) error {
	if len(a.Samples) != len(b.Samples) || a.WeightVersion != b.WeightVersion {
		return fmt.Errorf("%d samples on %q vs %d on %q", len(a.Samples), a.WeightVersion, len(b.Samples), b.WeightVersion)
	}
	for i := range a.Samples {
		x, y := a.Samples[i], b.Samples[i]
		if !slices.Equal(x.Tokens, y.Tokens) || x.FinishReason != y.FinishReason {
			return fmt.Errorf("sample %d: tokens %v (%s) vs %v (%s)", i, x.Tokens, x.FinishReason, y.Tokens, y.FinishReason)
		}
		for k := range x.Logprobs {
			if math.Float32bits(x.Logprobs[k]) != math.Float32bits(y.Logprobs[k]) {
				return fmt.Errorf("sample %d token %d: log-prob %v vs %v", i, k, x.Logprobs[k], y.Logprobs[k])
			}
		}
		if len(x.Top) != len(y.Top) {
			return fmt.Errorf("sample %d: %d vs %d top lists", i, len(x.Top), len(y.Top))
		}
		for k := range x.Top {
			if !slices.Equal(x.Top[k], y.Top[k]) {
				return fmt.Errorf("sample %d token %d: top %v vs %v", i, k, x.Top[k], y.Top[k])
			}
		}
	}
	return nil
}

// TestEngineMatchesReference: the KV-cached engine gives exactly the tokens
// of the full-recompute reference Generate, greedy and sampled (same
// sampler, same per-sample streams, same penalties), on every architecture.
func TestEngineMatchesReference(t *testing.T) {
	for arch := range tinyConfigs() {
		e, m := tinyEngine(t, arch, 4)
		ws := NewWorkspace[float32](false)
		prompt := []int{3, 1, 4, 1, 5}
		for _, opts := range []SampleOptions{
			{MaxTokens: 30, Temperature: 0},
			{MaxTokens: 30, Temperature: 0.8, TopP: 0.9, TopK: 6, Seed: 11},
			{MaxTokens: 30, Temperature: 1.3, MinP: 0.05, Seed: 12},
			{MaxTokens: 30, Temperature: 1, Seed: 13, EOS: []int{2}},
			{MaxTokens: 30, Temperature: 0, Penalties: Penalties{Presence: 0.8, Frequency: 0.3, Repetition: 1.3}},
			{MaxTokens: 30, Temperature: 0.9, TopK: 8, Seed: 14, Penalties: Penalties{Presence: -0.5, Frequency: 1.5}},
			{MaxTokens: 30, Temperature: 0.8, Seed: 15, Penalties: Penalties{Bias: map[int]float64{2: 5, 4: -100}, Repetition: 1.2}},
		} {
			res := mustGenerate(t, e, GenRequest{Prompt: prompt, N: 3, MaxTokens: opts.MaxTokens, Temperature: opts.Temperature,
				TopP: opts.TopP, TopK: opts.TopK, MinP: opts.MinP, Seed: opts.Seed, EOS: opts.EOS, Penalties: opts.Penalties})
			for i, s := range res.Samples {
				ref, err := Generate(m, ws, prompt, opts, i)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(s.Tokens, ref.Tokens) || s.FinishReason != ref.FinishReason {
					t.Fatalf("%s %+v sample %d: engine %v (%s), reference %v (%s)", arch, opts, i, s.Tokens, s.FinishReason, ref.Tokens, ref.FinishReason)
				}
			}
		}
	}
}

// TestEngineLogprobsMatchTraining: the rollout path's log-probabilities
// (SampledLogprobs) equal Model.Forward + Model.Logprobs over prompt +
// completion at the sampling temperature, and the default (raw) ones equal
// the training's at T = 1 (float32, max abs difference at most 1e-5; the
// engine takes the same kernels, so they are in fact equal).
func TestEngineLogprobsMatchTraining(t *testing.T) {
	for arch := range tinyConfigs() {
		for _, temp := range []float64{1, 0.7} {
			for _, sampled := range []bool{true, false} {
				e, m := tinyEngine(t, arch, 5)
				prompt := []int{7, 2, 9, 2}
				res := mustGenerate(t, e, GenRequest{Prompt: prompt, N: 2, MaxTokens: 25, Temperature: temp, Seed: 3,
					SampledLogprobs: sampled, TopLogprobs: 3})
				trainT := 1.0
				if sampled {
					trainT = temp
				}
				ws := NewWorkspace[float32](false)
				for i, s := range res.Samples {
					seq := append(slices.Clone(prompt), s.Tokens...)
					targets := make([]int, len(seq))
					for k := range targets {
						targets[k] = -1
						if k >= len(prompt)-1 && k+1 < len(seq) {
							targets[k] = seq[k+1]
						}
					}
					if _, err := m.Forward(ws, Batch{Tokens: seq, Lens: []int{len(seq)}, Targets: targets}); err != nil {
						t.Fatal(err)
					}
					lp, err := m.Logprobs(ws, trainT)
					if err != nil {
						t.Fatal(err)
					}
					worst := 0.0
					for k, got := range s.Logprobs {
						worst = max(worst, math.Abs(float64(got-lp[len(prompt)-1+k])))
						top := s.Top[k]
						if len(top) != 3 || top[0].Logprob < top[1].Logprob || top[1].Logprob < top[2].Logprob {
							t.Fatalf("top alternatives %v", top)
						}
						if j := slices.IndexFunc(top, func(a TokenAlt) bool { return a.ID == s.Tokens[k] }); j >= 0 && top[j].Logprob != got {
							t.Fatalf("token %d: log-prob %v, its alternative entry %v", k, got, top[j].Logprob)
						}
					}
					if worst > 1e-5 {
						t.Fatalf("%s T=%v sampled=%v sample %d: max |engine − training| = %g", arch, temp, sampled, i, worst)
					}
				}
			}
		}
	}
}

// mixedRequests are requests with every option in play.
func mixedRequests() []GenRequest {
	return []GenRequest{
		{Prompt: []int{1, 2, 3}, N: 4, MaxTokens: 20, Temperature: 1, Seed: 1, SampledLogprobs: true},
		{Prompt: []int{5}, N: 1, MaxTokens: 33, Temperature: 0, TopLogprobs: 2},
		{Prompt: []int{4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4}, N: 3, MaxTokens: 17, Temperature: 0.7, TopP: 0.8, Seed: 2, EOS: []int{0}},
		{Prompt: []int{9, 8}, N: 2, MaxTokens: 40, Temperature: 1.2, TopK: 4, MinP: 0.1, Seed: 3, TopLogprobs: 1},
		{Prompt: []int{6, 1, 6}, N: 5, MaxTokens: 12, Temperature: 0.9, Seed: 4, SampledLogprobs: true,
			Stop: func(_ int, toks []int) bool { return len(toks) >= 3 && toks[len(toks)-1] == toks[len(toks)-3] }},
		{Prompt: []int{12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, N: 2, MaxTokens: 200, Temperature: 1, Seed: 5}, // to the context window
	}
}

// TestEngineBatchInvariance: each request gives bitwise the same tokens,
// log-probabilities and alternatives alone on 1 worker as inside a batch of
// all the others, submitted concurrently, on 4 workers.
func TestEngineBatchInvariance(t *testing.T) {
	for arch := range tinyConfigs() {
		t.Run(arch, func(t *testing.T) {
			reqs := mixedRequests()
			e, _ := tinyEngine(t, arch, 6)
			prev := SetWorkers(1)
			alone := make([]*GenResult, len(reqs))
			for i, r := range reqs {
				alone[i] = mustGenerate(t, e, r)
			}
			SetWorkers(4)
			defer SetWorkers(prev)
			e, _ = tinyEngine(t, arch, 6)
			batched := make([]*GenResult, len(reqs))
			errs := make([]error, len(reqs))
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, r := range reqs {
				wg.Go(func() {
					<-start
					batched[i], errs[i] = e.Generate(context.Background(), r)
				})
			}
			close(start)
			wg.Wait()
			for i := range reqs {
				if errs[i] != nil {
					t.Fatal(errs[i])
				}
				if err := sameResult(alone[i], batched[i]); err != nil {
					t.Fatalf("request %d alone vs batched: %v", i, err)
				}
			}
			if r := e.sched.maxRows.Load(); r < 4 {
				t.Logf("largest decode batch only %d rows", r)
			}
			last := alone[5].Samples[0]
			if c := e.Config(); len(last.Tokens) != c.MaxPositions-12 || last.FinishReason != "length" {
				t.Fatalf("context window: %d tokens (%s), want %d (length)", len(last.Tokens), last.FinishReason, c.MaxPositions-12)
			}
		})
	}
}

// TestEngineFinishReasons covers EOS, Stop, max tokens and streaming.
func TestEngineFinishReasons(t *testing.T) {
	e, _ := tinyEngine(t, "qwen3", 7)
	prompt := []int{1, 2}
	base := mustGenerate(t, e, GenRequest{Prompt: prompt, MaxTokens: 10})
	if s := base.Samples[0]; len(s.Tokens) != 10 || s.FinishReason != "length" || len(s.Logprobs) != 10 || s.Top != nil {
		t.Fatalf("max tokens: %+v", s)
	}
	eos := base.Samples[0].Tokens[3]
	first := slices.Index(base.Samples[0].Tokens, eos)
	res := mustGenerate(t, e, GenRequest{Prompt: prompt, MaxTokens: 10, EOS: []int{eos}})
	if s := res.Samples[0]; !slices.Equal(s.Tokens, base.Samples[0].Tokens[:first+1]) || s.FinishReason != "stop" {
		t.Fatalf("EOS %d: %+v", eos, s)
	}
	var streamed []GenToken
	res = mustGenerate(t, e, GenRequest{Prompt: prompt, MaxTokens: 10, TopLogprobs: 1,
		Stop:    func(i int, toks []int) bool { return len(toks) == 4 },
		OnToken: func(i int, tok GenToken) { streamed = append(streamed, tok) }})
	s := res.Samples[0]
	if !slices.Equal(s.Tokens, base.Samples[0].Tokens[:4]) || s.FinishReason != "stop" || len(streamed) != 4 {
		t.Fatalf("Stop after 4: %+v, streamed %d", s, len(streamed))
	}
	for k, tok := range streamed {
		if tok.ID != s.Tokens[k] || tok.Logprob != s.Logprobs[k] || !slices.Equal(tok.Top, s.Top[k]) {
			t.Fatalf("streamed token %d: %+v, result %d %v", k, tok, s.Tokens[k], s.Logprobs[k])
		}
	}
	res = mustGenerate(t, e, GenRequest{Prompt: prompt, MaxTokens: 1})
	if s := res.Samples[0]; len(s.Tokens) != 1 || s.FinishReason != "length" || res.FirstToken <= 0 || res.Total < res.FirstToken {
		t.Fatalf("one token: %+v, timing %v %v", s, res.FirstToken, res.Total)
	}
}

// TestEngineCancel: cancelling a request's context ends it promptly with
// ctx's error, runs none of its callbacks afterwards, and leaves the other
// requests of the batch untouched.
func TestEngineCancel(t *testing.T) {
	e, _ := tinyEngine(t, "llama", 8)
	other := GenRequest{Prompt: []int{2, 3}, N: 2, MaxTokens: 30, Temperature: 1, Seed: 9}
	want := mustGenerate(t, e, other)

	ctx, cancel := context.WithCancel(context.Background())
	var calls, after atomic.Int64
	var returned atomic.Bool
	victim := GenRequest{Prompt: []int{1}, N: 3, MaxTokens: 80, Temperature: 1,
		OnToken: func(i int, tok GenToken) {
			if returned.Load() {
				after.Add(1)
			}
			if calls.Add(1) == 5 {
				cancel()
			}
		}}
	var wg sync.WaitGroup
	var got *GenResult
	var otherErr error
	wg.Go(func() { got, otherErr = e.Generate(context.Background(), other) })
	_, err := e.Generate(ctx, victim)
	returned.Store(true)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request returned %v", err)
	}
	if n := calls.Load(); n >= 3*80 {
		t.Fatalf("cancelled request ran to the end (%d tokens)", n)
	}
	wg.Wait()
	if otherErr != nil {
		t.Fatal(otherErr)
	}
	if err := sameResult(want, got); err != nil {
		t.Fatalf("request beside a cancelled one: %v", err)
	}
	if after.Load() != 0 {
		t.Fatalf("%d callbacks after Generate returned", after.Load())
	}
	if _, err := e.Generate(ctx, victim); !errors.Is(err, context.Canceled) {
		t.Fatalf("already cancelled context: %v", err)
	}
}

// TestEngineSwap: a request running when the weights are swapped finishes on
// the weights it started with, bitwise as alone; requests after the swap
// run on the new weights, while the old one is still decoding.
func TestEngineSwap(t *testing.T) {
	c := tinyConfigs()["qwen2_tied"]
	m1, _ := NewModel(perturbedParams[float32](c, 1))
	m2, _ := NewModel(perturbedParams[float32](c, 2))
	req := GenRequest{Prompt: []int{1, 2, 3}, N: 2, MaxTokens: 40, Temperature: 1, Seed: 4, SampledLogprobs: true}
	want1 := mustGenerate(t, NewEngine(m1, "v1"), req)
	want2 := mustGenerate(t, NewEngine(m2, "v2"), req)

	e := NewEngine(m1, "v1")
	var wg sync.WaitGroup
	var during *GenResult
	var duringErr error
	swapped := make(chan struct{})
	old := req
	var n atomic.Int64
	old.OnToken = func(int, GenToken) {
		if n.Add(1) == 3 {
			if err := e.Swap(m2, "v2"); err != nil {
				t.Error(err)
			}
			// A request on the new weights joins while this one decodes.
			wg.Go(func() { during, duringErr = e.Generate(context.Background(), req) })
			close(swapped)
		}
	}
	got1 := mustGenerate(t, e, old)
	<-swapped
	wg.Wait()
	if duringErr != nil {
		t.Fatal(duringErr)
	}
	if err := sameResult(want1, got1); err != nil {
		t.Fatalf("request across the swap: %v", err)
	}
	if err := sameResult(want2, during); err != nil {
		t.Fatalf("request after the swap: %v", err)
	}
	if e.Version() != "v2" {
		t.Fatalf("version %q", e.Version())
	}
	bad := *c
	bad.Layers = 3
	mb, _ := NewModel(NewParams[float32](&bad))
	if err := e.Swap(mb, "bad"); err == nil {
		t.Fatal("swap to another architecture succeeded")
	}
}

// TestEngineCallbackPanic: a panicking callback fails its own request only.
func TestEngineCallbackPanic(t *testing.T) {
	e, _ := tinyEngine(t, "qwen3", 9)
	_, err := e.Generate(context.Background(), GenRequest{Prompt: []int{1}, MaxTokens: 5,
		OnToken: func(int, GenToken) { panic("boom") }})
	if err == nil || !strings.Contains(err.Error(), "OnToken callback of sample 0 panicked: boom") {
		t.Fatalf("panicking callback: %v", err)
	}
	mustGenerate(t, e, GenRequest{Prompt: []int{1}, MaxTokens: 5})
}

func TestGenRequestValidate(t *testing.T) {
	e, _ := tinyEngine(t, "qwen3", 9)
	for _, tc := range []struct {
		req  GenRequest
		want string
	}{
		{GenRequest{MaxTokens: 1}, "prompt is empty"},
		{GenRequest{Prompt: []int{1}, N: 2000, MaxTokens: 1}, "n: 2000"},
		{GenRequest{Prompt: []int{1}}, "max tokens"},
		{GenRequest{Prompt: make([]int, 96), MaxTokens: 1}, "context window"},
		{GenRequest{Prompt: []int{13}, MaxTokens: 1}, "outside the vocabulary"},
		{GenRequest{Prompt: []int{1}, MaxTokens: 1, TopP: 2}, "top_p"},
		{GenRequest{Prompt: []int{1}, MaxTokens: 1, TopLogprobs: 21}, "top_logprobs"},
	} {
		if _, err := e.Generate(context.Background(), tc.req); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.req, err, tc.want)
		}
	}
}

// TestEngineLoad: 42 concurrent requests with mixed options, a weight swap
// in the middle and some requests cancelled part-way: every request that
// completes is bitwise the same request served alone on the version it
// reports, and every cancelled one returns its context's error (or, when
// it finished before the engine saw the cancellation, its full result).
func TestEngineLoad(t *testing.T) {
	c := tinyConfigs()["qwen3"]
	m1, _ := NewModel(perturbedParams[float32](c, 1))
	m2, _ := NewModel(perturbedParams[float32](c, 2))
	var reqs []GenRequest
	for i := range 42 {
		r := mixedRequests()[i%6]
		r.Seed += uint64(i / 6)
		reqs = append(reqs, r)
	}
	alone := map[string][]*GenResult{}
	for v, m := range map[string]*Model[float32]{"v1": m1, "v2": m2} {
		e := NewEngine(m, v)
		for _, r := range reqs {
			alone[v] = append(alone[v], mustGenerate(t, e, r))
		}
	}
	e := NewEngine(m1, "v1")
	var wg sync.WaitGroup
	results := make([]*GenResult, len(reqs))
	errs := make([]error, len(reqs))
	for i, r := range reqs {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if i%7 == 3 {
			var n atomic.Int64
			r.OnToken = func(int, GenToken) {
				if n.Add(1) == 4 {
					cancel()
				}
			}
		}
		wg.Go(func() { results[i], errs[i] = e.Generate(ctx, r) })
		if i == len(reqs)/2 {
			if err := e.Swap(m2, "v2"); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
	for i := range reqs {
		if i%7 == 3 && errs[i] != nil {
			if !errors.Is(errs[i], context.Canceled) {
				t.Errorf("request %d: cancelled, returned %v", i, errs[i])
			}
			continue
		}
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if err := sameResult(alone[results[i].WeightVersion][i], results[i]); err != nil {
			t.Errorf("request %d on %s: %v", i, results[i].WeightVersion, err)
		}
	}
}
