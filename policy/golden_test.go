package policy

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/rft-dev/rft/policy/safetensors"
)

// The golden fixtures are Hugging Face directories written by transformers
// (compat/make_fixtures.py, `make compat`) with the logits, loss, log-probs
// and float64 autograd gradients that transformers and torch computed for
// them. These tests hold rft's engine to the reference implementation without
// needing Python.
var goldenModels = []string{"llama", "qwen3", "qwen2_tied"}

type golden struct {
	ids      []int
	batch    int
	seqLen   int
	logits   []float32
	loss     float64
	logprobs []float64
	grads    map[string][]float64
}

func readGolden(t *testing.T, dir string) *golden {
	t.Helper()
	f, err := safetensors.Read(filepath.Join(dir, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) *safetensors.Tensor {
		tn, ok := f.Tensors[name]
		if !ok {
			t.Fatalf("%s: golden.safetensors lacks %s", dir, name)
		}
		return tn
	}
	g := &golden{grads: map[string][]float64{}}
	idsT := get("input_ids")
	ids64, err := idsT.Int64s()
	if err != nil {
		t.Fatal(err)
	}
	g.batch, g.seqLen = idsT.Shape[0], idsT.Shape[1]
	for _, id := range ids64 {
		g.ids = append(g.ids, int(id))
	}
	if g.logits, err = get("logits").Float32s(); err != nil {
		t.Fatal(err)
	}
	loss, err := get("loss").Float64s()
	if err != nil {
		t.Fatal(err)
	}
	g.loss = loss[0]
	if g.logprobs, err = get("logprobs_t07").Float64s(); err != nil {
		t.Fatal(err)
	}
	for name, tn := range f.Tensors {
		if len(name) > 5 && name[:5] == "grad." {
			if g.grads[name[5:]], err = tn.Float64s(); err != nil {
				t.Fatal(err)
			}
		}
	}
	return g
}

func goldenDir(t *testing.T, name string) string {
	dir := filepath.Join("..", "testdata", "hf", name)
	if _, err := os.Stat(filepath.Join(dir, "golden.safetensors")); err != nil {
		t.Fatalf("fixture %s missing (regenerate with `make compat`): %v", dir, err)
	}
	return dir
}

func (g *golden) batchOf() Batch {
	lens := make([]int, g.batch)
	for i := range lens {
		lens[i] = g.seqLen
	}
	return Batch{Tokens: g.ids, Lens: lens, Targets: NextTokenTargets(g.ids, lens)}
}

// TestGoldenLogitsMatchTransformers: float32 logits within 1e-4 of
// transformers' (computed in float64), and the loss and temperature-0.7
// log-probs likewise.
func TestGoldenLogitsMatchTransformers(t *testing.T) {
	for _, name := range goldenModels {
		t.Run(name, func(t *testing.T) {
			dir := goldenDir(t, name)
			_, p, err := LoadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewModel(p)
			if err != nil {
				t.Fatal(err)
			}
			g := readGolden(t, dir)
			ws := NewWorkspace[float32](false)
			b := g.batchOf()
			logits, err := m.Forward(ws, b)
			if err != nil {
				t.Fatal(err)
			}
			if len(logits) != len(g.logits) {
				t.Fatalf("%d logits, golden has %d", len(logits), len(g.logits))
			}
			worst := 0.0
			for i := range logits {
				worst = math.Max(worst, math.Abs(float64(logits[i]-g.logits[i])))
			}
			t.Logf("max |logit - transformers| = %.3g", worst)
			if worst > 1e-4 {
				t.Fatalf("logits differ from transformers by %.3g > 1e-4", worst)
			}
			lp, err := m.Logprobs(ws, 0.7)
			if err != nil {
				t.Fatal(err)
			}
			T := g.seqLen
			for s := 0; s < g.batch; s++ {
				for i := 0; i < T-1; i++ {
					if d := math.Abs(float64(lp[s*T+i]) - g.logprobs[s*(T-1)+i]); d > 1e-4 {
						t.Fatalf("log-prob at T=0.7, sequence %d position %d: off by %.3g", s, i, d)
					}
				}
			}
			loss, _, err := m.Loss(ws, b, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(loss-g.loss) > 1e-5 {
				t.Fatalf("loss %.8f, transformers %.8f", loss, g.loss)
			}
		})
	}
}

// TestGoldenGradientsMatchTorch: float64 gradients of the mean next-token
// cross-entropy agree with torch autograd for every parameter tensor.
func TestGoldenGradientsMatchTorch(t *testing.T) {
	for _, name := range goldenModels {
		t.Run(name, func(t *testing.T) {
			dir := goldenDir(t, name)
			c, p32, err := LoadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			data := make([]float64, len(p32.Data))
			for i, v := range p32.Data {
				data[i] = float64(v)
			}
			m, err := NewModel(ViewParams(c, data))
			if err != nil {
				t.Fatal(err)
			}
			g := readGolden(t, dir)
			grads := NewParams[float64](c)
			loss, _, err := m.Loss(NewWorkspace[float64](false), g.batchOf(), 0, grads)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(loss-g.loss) > 1e-9 {
				t.Fatalf("float64 loss %.12f, torch %.12f", loss, g.loss)
			}
			for _, tn := range grads.Tensors {
				want, ok := g.grads[tn.Name]
				if !ok {
					t.Fatalf("golden has no gradient for %s", tn.Name)
				}
				got := grads.Data[tn.Offset : tn.Offset+tn.Size]
				scale, worst := 0.0, 0.0
				for i := range want {
					scale = math.Max(scale, math.Abs(want[i]))
					worst = math.Max(worst, math.Abs(got[i]-want[i]))
				}
				if scale == 0 || worst/scale > 1e-6 {
					t.Errorf("%s: max |grad - torch| = %.3g against max |grad| %.3g", tn.Name, worst, scale)
				}
			}
			if len(g.grads) != len(grads.Tensors) {
				t.Errorf("golden has %d gradient tensors, the model %d", len(g.grads), len(grads.Tensors))
			}
		})
	}
}
