package policy

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestPickTokenTruncation(t *testing.T) {
	logits := []float32{2, 0, 1, -1, 1}
	rng := rand.New(rand.NewPCG(1, 2))
	if got := pickToken(logits, SampleOptions{Temperature: 0}, rng); got != 0 {
		t.Fatalf("greedy picked %d", got)
	}
	seen := map[int]int{}
	for range 2000 {
		seen[pickToken(logits, SampleOptions{Temperature: 1, TopK: 3}, rng)]++
	}
	// Top-3 by logit with ties to the lower id: 0, 2, 4.
	if seen[1] > 0 || seen[3] > 0 || seen[0] == 0 || seen[2] == 0 || seen[4] == 0 {
		t.Fatalf("top-k 3 drew %v", seen)
	}
	// p(0) = e²/(e²+2e+1+e⁻¹) ≈ 0.61 ≥ 0.5: top-p 0.5 keeps token 0 alone.
	for range 100 {
		if got := pickToken(logits, SampleOptions{Temperature: 1, TopP: 0.5}, rng); got != 0 {
			t.Fatalf("top-p 0.5 drew %d", got)
		}
	}
	// Frequencies follow softmax(logits/T).
	clear(seen)
	const n = 20000
	for range n {
		seen[pickToken(logits, SampleOptions{Temperature: 0.7, TopP: 1}, rng)]++
	}
	z := 0.0
	for _, l := range logits {
		z += math.Exp(float64(l) / 0.7)
	}
	for id, l := range logits {
		want := math.Exp(float64(l)/0.7) / z
		got := float64(seen[id]) / n
		if math.Abs(got-want) > 4*math.Sqrt(want*(1-want)/n)+1e-3 {
			t.Errorf("token %d drawn %.4f, softmax says %.4f", id, got, want)
		}
	}
}

func TestGenerateDeterministicAndStops(t *testing.T) {
	c := tinyConfigs()["qwen3"]
	m, _ := NewModel(perturbedParams[float32](c, 2))
	ws := NewWorkspace[float32](false)
	opts := SampleOptions{MaxTokens: 12, Temperature: 1, TopP: 0.9, Seed: 5}
	a, err := Generate(m, ws, []int{1, 2, 3}, opts, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(m, ws, []int{1, 2, 3}, opts, 0)
	if len(a.Tokens) != 12 || a.FinishReason != "length" || !equalInts(a.Tokens, b.Tokens) {
		t.Fatalf("same seed and sample: %v %v", a, b)
	}
	opts.EOS = []int{a.Tokens[4]}
	s, _ := Generate(m, ws, []int{1, 2, 3}, opts, 0)
	if s.FinishReason != "stop" || len(s.Tokens) > 5 {
		t.Fatalf("EOS %d did not stop generation: %+v", opts.EOS[0], s)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
