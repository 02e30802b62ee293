package policy

import (
	"math"
	"math/rand/v2"
	"testing"
)

// tinyConfigs are the architecture variants every model-level test covers:
// plain Llama with llama3 RoPE scaling, Qwen2 with q/k/v bias and tied
// embeddings, Qwen3 with QK-norm.
func tinyConfigs() map[string]*Config {
	base := func(arch string) *Config {
		return &Config{Architecture: arch, VocabSize: 13, Hidden: 12, Intermediate: 20, Layers: 2,
			Heads: 4, KVHeads: 2, HeadDim: 4, MaxPositions: 96, RMSNormEps: 1e-5, RopeTheta: 10000, BOS: -1}
	}
	llama := base("LlamaForCausalLM")
	llama.RopeScaling = &RopeScaling{Type: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 8}
	qwen2 := base("Qwen2ForCausalLM")
	qwen2.QKVBias, qwen2.TieEmbeddings = true, true
	qwen3 := base("Qwen3ForCausalLM")
	qwen3.QKNorm = true
	return map[string]*Config{"llama": llama, "qwen2_tied": qwen2, "qwen3": qwen3}
}

// perturbedParams are random parameters with norm weights away from 1 and
// biases away from 0, so that a gradient bug in either cannot hide.
func perturbedParams[T Float](c *Config, seed uint64) *Params[T] {
	p := NewParams[T](c)
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, t := range p.Tensors {
		v := p.Data[t.Offset : t.Offset+t.Size]
		for i := range v {
			if len(t.Shape) == 1 && !hasSuffix(t.Name, ".bias") {
				v[i] = T(1 + 0.2*rng.NormFloat64())
			} else {
				v[i] = T(0.3 * rng.NormFloat64())
			}
		}
	}
	return p
}

func randomBatch(c *Config, lens []int, seed uint64) Batch {
	rng := rand.New(rand.NewPCG(seed, 2))
	n := 0
	for _, l := range lens {
		n += l
	}
	toks := make([]int, n)
	for i := range toks {
		toks[i] = rng.IntN(c.VocabSize)
	}
	return Batch{Tokens: toks, Lens: lens, Targets: NextTokenTargets(toks, lens)}
}

// TestModelGradFiniteDifference checks the whole model's loss gradient with
// respect to every parameter tensor against central finite differences in
// float64: the loss is a weighted sum of target log-probabilities at a
// temperature, which covers cross-entropy (T = 1) and GRPO's objective.
func TestModelGradFiniteDifference(t *testing.T) {
	for name, c := range tinyConfigs() {
		for _, recompute := range []bool{false, true} {
			sub := name
			if recompute {
				sub += "/recompute"
			}
			t.Run(sub, func(t *testing.T) {
				p := perturbedParams[float64](c, 3)
				m, err := NewModel(p)
				if err != nil {
					t.Fatal(err)
				}
				b := randomBatch(c, []int{7, 4}, 5)
				b.Targets[2] = -1 // a masked position inside a sequence
				const temp = 0.7
				rng := rand.New(rand.NewPCG(9, 9))
				w := make([]float64, len(b.Tokens))
				for i := range w {
					w[i] = rng.NormFloat64()
				}
				ws := NewWorkspace[float64](recompute)
				loss := func() float64 {
					if _, err := m.Forward(ws, b); err != nil {
						t.Fatal(err)
					}
					logp, err := m.Logprobs(ws, temp)
					if err != nil {
						t.Fatal(err)
					}
					s := 0.0
					for i, l := range logp {
						s += w[i] * l
					}
					return s
				}
				loss()
				grads := NewParams[float64](c)
				m.Backward(ws, w, temp, grads)
				for _, tn := range p.Tensors {
					x := p.Data[tn.Offset : tn.Offset+tn.Size]
					g := grads.Data[tn.Offset : tn.Offset+tn.Size]
					// Every element of small tensors; a fixed sample of large ones.
					idx := sampleIndices(len(x), 24)
					xs, gs := make([]float64, len(idx)), make([]float64, len(idx))
					for i, j := range idx {
						xs[i], gs[i] = x[j], g[j]
					}
					checkGrad(t, tn.Name, xs, gs, func() float64 {
						for i, j := range idx {
							x[j] = xs[i]
						}
						return loss()
					}, gradTol)
					for i, j := range idx {
						x[j] = xs[i]
					}
				}
			})
		}
	}
}

func sampleIndices(n, k int) []int {
	idx := make([]int, 0, k)
	if n <= k {
		for i := range n {
			idx = append(idx, i)
		}
		return idx
	}
	for i := range k {
		idx = append(idx, (i*7919+3)%n)
	}
	return idx
}

func bitsEqual(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// TestModelBatchAndWorkerInvariance is DESIGN decision 5: the same batch on 1
// and 4 goroutines gives bitwise-equal logits and gradients, each sequence
// alone gives bitwise the logits it has inside the batch, and accumulating the
// sequences' gradients one at a time gives bitwise the batch's gradient.
func TestModelBatchAndWorkerInvariance(t *testing.T) {
	defer SetWorkers(SetWorkers(0))
	configs := tinyConfigs()
	// Big enough that every kernel really splits its work over 4 goroutines.
	wide := *configs["qwen3"]
	wide.VocabSize, wide.Hidden, wide.Intermediate, wide.HeadDim, wide.MaxPositions = 96, 64, 176, 16, 128
	configs["qwen3_wide"] = &wide
	for name, c := range configs {
		t.Run(name, func(t *testing.T) {
			m, err := NewModel(perturbedParams[float32](c, 4))
			if err != nil {
				t.Fatal(err)
			}
			lens := []int{9, 3, 14, 1, 70}
			b := randomBatch(c, lens, 6)
			total := 0
			for _, tg := range b.Targets {
				if tg >= 0 {
					total++
				}
			}
			run := func(workers int, b Batch) ([]float32, []float32) {
				SetWorkers(workers)
				ws := NewWorkspace[float32](false)
				g := NewParams[float32](c)
				if _, _, err := m.Loss(ws, b, float64(total), g); err != nil {
					t.Fatal(err)
				}
				logits, _ := m.Forward(ws, b)
				return append([]float32(nil), logits...), g.Data
			}
			l1, g1 := run(1, b)
			l4, g4 := run(4, b)
			if i := bitsEqual(l1, l4); i >= 0 {
				t.Fatalf("logits differ between 1 and 4 workers at %d", i)
			}
			if i := bitsEqual(g1, g4); i >= 0 {
				t.Fatalf("gradients differ between 1 and 4 workers at %d", i)
			}
			// Each sequence alone, accumulated in order into one gradient buffer.
			SetWorkers(3)
			ws := NewWorkspace[float32](false)
			acc := NewParams[float32](c)
			off := 0
			for _, l := range lens {
				one := Batch{Tokens: b.Tokens[off : off+l], Lens: []int{l}, Targets: b.Targets[off : off+l]}
				logits, err := m.Forward(ws, one)
				if err != nil {
					t.Fatal(err)
				}
				V := c.VocabSize
				if i := bitsEqual(logits, l1[off*V:(off+l)*V]); i >= 0 {
					t.Fatalf("sequence at %d: logits alone differ from in-batch at %d", off, i)
				}
				if l > 1 { // a one-token sequence has no next-token target
					if _, _, err := m.Loss(ws, one, float64(total), acc); err != nil {
						t.Fatal(err)
					}
				}
				off += l
			}
			if c.TieEmbeddings {
				// The tied matrix receives the head's and the embedding's
				// contributions in a different interleaving; only the untied
				// tensors are comparable bitwise.
				for _, tn := range acc.Tensors {
					if tn.Name == "model.embed_tokens.weight" {
						continue
					}
					if i := bitsEqual(acc.Data[tn.Offset:tn.Offset+tn.Size], g1[tn.Offset:tn.Offset+tn.Size]); i >= 0 {
						t.Fatalf("%s: per-sequence accumulation differs from the batch at %d", tn.Name, i)
					}
				}
				return
			}
			if i := bitsEqual(acc.Data, g1); i >= 0 {
				t.Fatalf("per-sequence gradient accumulation differs from the batch gradient at %d", i)
			}
		})
	}
}

func TestModelRecomputeMatchesStored(t *testing.T) {
	for name, c := range tinyConfigs() {
		t.Run(name, func(t *testing.T) {
			m, _ := NewModel(perturbedParams[float32](c, 8))
			b := randomBatch(c, []int{6, 11}, 2)
			grads := func(recompute bool) []float32 {
				g := NewParams[float32](c)
				if _, _, err := m.Loss(NewWorkspace[float32](recompute), b, 0, g); err != nil {
					t.Fatal(err)
				}
				return g.Data
			}
			if i := bitsEqual(grads(false), grads(true)); i >= 0 {
				t.Fatalf("recomputed activations change the gradient at %d", i)
			}
		})
	}
}

func TestBatchCheck(t *testing.T) {
	c := tinyConfigs()["llama"]
	m, _ := NewModel(perturbedParams[float32](c, 1))
	ws := NewWorkspace[float32](false)
	for _, b := range []Batch{
		{Tokens: []int{1, 2}, Lens: []int{3}},
		{Tokens: []int{1, 99}, Lens: []int{2}},
		{Tokens: []int{1, 2}, Lens: []int{2}, Targets: []int{1}},
		{Tokens: make([]int, 100), Lens: []int{100}},
		{Tokens: []int{1}, Lens: []int{1}, Targets: []int{13}},
	} {
		if _, err := m.Forward(ws, b); err == nil {
			t.Errorf("batch %+v: want an error", b)
		}
	}
}
