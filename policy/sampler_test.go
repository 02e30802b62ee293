package policy

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// pickSorted is the sampler's definition written plainly: sort the whole
// vocabulary, truncate, draw. The sampler must agree with it token for
// token on the same stream, whatever shortcut it takes.
func pickSorted(logits []float32, o SampleOptions, rng *rand.Rand) int {
	if o.Temperature < GreedyBelow {
		return argmax(logits)
	}
	V := len(logits)
	maxL := float64(slices.Max(logits))
	w := make([]float64, V)
	total := 0.0
	for i, l := range logits {
		w[i] = math.Exp((float64(l) - maxL) / o.Temperature)
		total += w[i]
	}
	topP := o.TopP
	if topP >= 1 {
		topP = 0
	}
	topK := o.TopK
	if topK >= V {
		topK = 0
	}
	var idx []int32
	if topK == 0 && topP == 0 {
		for i := range V {
			if w[i] >= o.MinP {
				idx = append(idx, int32(i))
			}
		}
	} else {
		for i := range V {
			idx = append(idx, int32(i))
		}
		slices.SortFunc(idx, func(a, b int32) int {
			if c := cmp.Compare(logits[b], logits[a]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		keep, sum := V, total
		if topK > 0 {
			keep, sum = topK, 0
			for _, id := range idx[:keep] {
				sum += w[id]
			}
		}
		if topP > 0 {
			acc := 0.0
			for i, id := range idx[:keep] {
				if acc += w[id] / sum; acc >= topP {
					keep = i + 1
					break
				}
			}
		}
		for keep > 1 && w[idx[keep-1]] < o.MinP {
			keep--
		}
		idx = idx[:keep]
	}
	kept := 0.0
	for _, id := range idx {
		kept += w[id]
	}
	u := rng.Float64() * kept
	for _, id := range idx {
		if u -= w[id]; u < 0 {
			return int(id)
		}
	}
	return int(idx[len(idx)-1])
}

// TestSamplerMatchesDefinition draws from peaked and flat logits with every
// combination of the truncations and checks each draw against pickSorted.
func TestSamplerMatchesDefinition(t *testing.T) {
	gen := rand.New(rand.NewPCG(1, 1))
	for trial := range 300 {
		V := 1 + gen.IntN(300)
		logits := make([]float32, V)
		spread := []float64{0.01, 1, 8, 30}[trial%4]
		for i := range logits {
			logits[i] = float32(gen.NormFloat64() * spread)
			if gen.IntN(10) == 0 && i > 0 {
				logits[i] = logits[i-1] // ties
			}
		}
		o := SampleOptions{Temperature: []float64{0, 0.3, 1, 1.7}[gen.IntN(4)],
			TopK: []int{0, 1, 5, 50, 1000}[gen.IntN(5)], TopP: []float64{0, 0.5, 0.9, 0.999, 1}[gen.IntN(5)],
			MinP: []float64{0, 0.01, 0.3}[gen.IntN(3)]}
		s := newTokenSampler(o, rand.New(rand.NewPCG(uint64(trial), 0)))
		ref := rand.New(rand.NewPCG(uint64(trial), 0))
		for draw := range 20 {
			if got, want := s.pick(logits), pickSorted(logits, o, ref); got != want {
				t.Fatalf("trial %d (V=%d, %+v) draw %d: sampler %d, definition %d", trial, V, o, draw, got, want)
			}
		}
	}
}

func TestSamplerMinP(t *testing.T) {
	// p ∝ e^0, e^-1, e^-3: relative to the mode 1, 0.37, 0.05.
	logits := []float32{0, -1, -3}
	s := newTokenSampler(SampleOptions{Temperature: 1, MinP: 0.1}, rand.New(rand.NewPCG(1, 1)))
	seen := map[int]int{}
	for range 3000 {
		seen[s.pick(logits)]++
	}
	if seen[2] != 0 || seen[0] == 0 || seen[1] == 0 {
		t.Fatalf("min-p 0.1 drew %v", seen)
	}
}

// TestSamplerAllocs: drawing allocates nothing once the scratch exists,
// penalised or not.
func TestSamplerAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	logits := make([]float32, 2048)
	gen := rand.New(rand.NewPCG(2, 2))
	for i := range logits {
		logits[i] = float32(gen.NormFloat64() * 3)
	}
	for _, o := range []SampleOptions{{Temperature: 1}, {Temperature: 0.7, TopP: 0.9, TopK: 40, MinP: 0.05}} {
		s := newTokenSampler(o, rand.New(rand.NewPCG(1, 1)))
		if a := testing.AllocsPerRun(50, func() { s.pick(logits) }); a != 0 {
			t.Errorf("%+v: %v allocations per draw", o, a)
		}
	}
	// Penalised: once the sequence's history stops growing (the top 4 have
	// all been drawn), nothing either.
	s := newTokenSampler(SampleOptions{Temperature: 0.7, TopK: 4}, rand.New(rand.NewPCG(1, 1)))
	s.penalise(Penalties{Presence: 0.1, Repetition: 1.1, Bias: map[int]float64{9: 1}}, []int{5, 6, 7}, len(logits))
	for range 200 {
		s.pick(logits)
	}
	if a := testing.AllocsPerRun(50, func() { s.pick(logits) }); a != 0 {
		t.Errorf("penalised: %v allocations per draw", a)
	}
	var alts [5]TokenAlt
	if a := testing.AllocsPerRun(50, func() { topAlternatives(alts[:0], logits, 5, 1, 0) }); a != 0 {
		t.Errorf("topAlternatives: %v allocations", a)
	}
}

func TestTopAlternatives(t *testing.T) {
	logits := []float32{1, 3, 3, -2, 5, 0}
	got := topAlternatives(nil, logits, 4, 1, 0)
	want := []int{4, 1, 2, 0}
	for k, a := range got {
		if a.ID != want[k] || a.Logprob != logits[a.ID] {
			t.Fatalf("top 4: %v, want ids %v", got, want)
		}
	}
	if len(topAlternatives(nil, logits, 10, 1, 0)) != len(logits) {
		t.Fatal("asking for more alternatives than the vocabulary")
	}
}
