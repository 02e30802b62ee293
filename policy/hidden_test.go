package policy

import (
	"math/rand/v2"
	"testing"
)

// TestHiddenMatchesForward: Hidden returns bitwise the final-norm states that
// Forward feeds the LM head, alone or with recompute.
func TestHiddenMatchesForward(t *testing.T) {
	for name, c := range tinyConfigs() {
		t.Run(name, func(t *testing.T) {
			m, err := NewModel(perturbedParams[float32](c, 3))
			if err != nil {
				t.Fatal(err)
			}
			b := randomBatch(c, []int{7, 4, 9}, 5)
			ws := NewWorkspace[float32](false)
			if _, err := m.Forward(ws, b); err != nil {
				t.Fatal(err)
			}
			want := append([]float32(nil), ws.hf[:len(b.Tokens)*c.Hidden]...)
			for _, recompute := range []bool{false, true} {
				got, err := m.Hidden(NewWorkspace[float32](recompute), Batch{Tokens: b.Tokens, Lens: b.Lens})
				if err != nil {
					t.Fatal(err)
				}
				if i := bitwiseEqual(got, want); i >= 0 {
					t.Fatalf("recompute=%v: hidden differs from Forward's at %d", recompute, i)
				}
			}
			if _, err := m.Hidden(ws, Batch{Tokens: []int{c.VocabSize}, Lens: []int{1}}); err == nil {
				t.Error("an out-of-vocabulary token was accepted")
			}
		})
	}
}

// TestBackwardHiddenFiniteDifference checks BackwardHidden's gradient of
// L = Σ R·hidden (R random) with respect to every parameter tensor against
// central finite differences in float64, with stored and recomputed
// activations, and that the LM head gets no gradient.
func TestBackwardHiddenFiniteDifference(t *testing.T) {
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
				b.Targets = nil
				rng := rand.New(rand.NewPCG(9, 9))
				r := randSlice(rng, len(b.Tokens)*c.Hidden)
				ws := NewWorkspace[float64](recompute)
				loss := func() float64 {
					h, err := m.Hidden(ws, b)
					if err != nil {
						t.Fatal(err)
					}
					return dotLoss(h, r)
				}
				loss()
				grads := NewParams[float64](c)
				m.BackwardHidden(ws, r, grads)
				if !c.TieEmbeddings {
					for i, g := range grads.LMHead {
						if g != 0 {
							t.Fatalf("lm_head gradient [%d] = %g, want 0", i, g)
						}
					}
				}
				for _, tn := range p.Tensors {
					if tn.Name == "lm_head.weight" {
						continue
					}
					x := p.Data[tn.Offset : tn.Offset+tn.Size]
					g := grads.Data[tn.Offset : tn.Offset+tn.Size]
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
