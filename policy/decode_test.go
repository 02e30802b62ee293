package policy

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDecodeMatchesForward: prefill plus decode steps, with several
// sequences of different prompt lengths sharing each step, give bitwise the
// logits that the training forward over each whole sequence gives at every
// position, on 1 and 4 workers and for every architecture.
func TestDecodeMatchesForward(t *testing.T) {
	for name, c := range tinyConfigs() {
		for _, workers := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/workers=%d", name, workers), func(t *testing.T) {
				defer SetWorkers(SetWorkers(workers))
				m, err := NewModel(perturbedParams[float32](c, 3))
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(7, 7))
				promptLens := []int{5, 1, 9}
				const steps = 12
				seqs := make([][]int, len(promptLens))
				for s, l := range promptLens {
					for range l + steps {
						seqs[s] = append(seqs[s], rng.IntN(c.VocabSize))
					}
				}
				// Reference: the training forward over each whole sequence.
				ws := NewWorkspace[float32](false)
				V := c.VocabSize
				want := make([][]float32, len(seqs))
				for s, seq := range seqs {
					logits, err := m.Forward(ws, Batch{Tokens: seq, Lens: []int{len(seq)}})
					if err != nil {
						t.Fatal(err)
					}
					want[s] = slices.Clone(logits)
				}

				var pool kvPool
				dw := &decodeWS{}
				var tokens []int
				segs := make([]*kvSeg, len(seqs))
				for s, l := range promptLens {
					tokens = append(tokens, seqs[s][:l]...)
					segs[s] = pool.get(c, l)
				}
				logits := prefill(m, dw, tokens, promptLens, segs)
				for s, l := range promptLens {
					if got, w := logits[s*V:(s+1)*V], want[s][(l-1)*V:l*V]; !slices.Equal(got, w) {
						t.Fatalf("prefill of sequence %d: logits differ from the forward's", s)
					}
				}
				own := make([]*kvSeg, len(seqs))
				for s := range own {
					own[s] = pool.get(c, 2) // small, so that grow is exercised
				}
				for step := range steps {
					var rows []decodeRow
					for s, l := range promptLens {
						if s == 1 && step%3 == 2 {
							continue // sequences leave and rejoin the batch
						}
						pos := l + own[s].n
						pool.grow(c, own[s], own[s].n+1)
						rows = append(rows, decodeRow{token: seqs[s][pos], pos: pos, prompt: segs[s], own: own[s]})
					}
					logits := decodeStep(m, dw, rows)
					for b, r := range rows {
						s := slices.Index(promptLens, r.prompt.n)
						if got, w := logits[b*V:(b+1)*V], want[s][r.pos*V:(r.pos+1)*V]; !slices.Equal(got, w) {
							t.Fatalf("step %d, sequence %d at position %d: decode logits differ from the forward's", step, s, r.pos)
						}
					}
				}
			})
		}
	}
}

// TestKVBytesPerToken pins the cache size formula on the demo preset.
func TestKVBytesPerToken(t *testing.T) {
	c, _ := Preset("demo")
	if got, want := KVBytesPerToken(c), 2*6*4*32*4; got != want {
		t.Fatalf("KV bytes per token: %d, want %d", got, want)
	}
}

// TestDecodeStepAllocs: a steady-state decode step allocates only the
// closures of its parallel kernels (a few per layer), nothing per row.
func TestDecodeStepAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c := tinyConfigs()["qwen3"]
	m, _ := NewModel(perturbedParams[float32](c, 3))
	defer SetWorkers(SetWorkers(1))
	var pool kvPool
	dw := &decodeWS{}
	const B = 8
	prompt := []int{1, 2, 3}
	var tokens, lens []int
	var segs []*kvSeg
	for range B {
		tokens, lens = append(tokens, prompt...), append(lens, len(prompt))
		segs = append(segs, pool.get(c, len(prompt)))
	}
	prefill(m, dw, tokens, lens, segs)
	rows := make([]decodeRow, B)
	for b := range rows {
		rows[b] = decodeRow{token: b, pos: 3, prompt: segs[b], own: pool.get(c, 64)}
	}
	allocs := testing.AllocsPerRun(20, func() {
		for b := range rows {
			rows[b].pos = 3 + rows[b].own.n
		}
		decodeStep(m, dw, rows)
	})
	if allocs > float64(8*c.Layers+4) {
		t.Fatalf("decode step allocates %v times", allocs)
	}
}
