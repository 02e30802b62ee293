package policy

import "fmt"

// Preset returns one of the sizes of DESIGN.md as a Qwen3-style config
// (QK-norm, untied head, GQA): "tiny" for tests, "demo" (about 5M parameters)
// for `rft demo` and demo-size benchmarks, "124m" for benchmarks of scale.
// The vocabulary size is a placeholder until a tokenizer sets it.
func Preset(name string) (*Config, error) {
	c := &Config{Architecture: "Qwen3ForCausalLM", QKNorm: true, RMSNormEps: 1e-6, RopeTheta: 10000, BOS: -1}
	switch name {
	case "tiny":
		c.Hidden, c.Layers, c.Heads, c.KVHeads, c.Intermediate, c.VocabSize, c.MaxPositions = 64, 2, 4, 2, 176, 512, 256
	case "demo":
		c.Hidden, c.Layers, c.Heads, c.KVHeads, c.Intermediate, c.VocabSize, c.MaxPositions = 256, 6, 8, 4, 704, 2048, 512
	case "124m":
		c.Hidden, c.Layers, c.Heads, c.KVHeads, c.Intermediate, c.VocabSize, c.MaxPositions = 768, 12, 12, 4, 2048, 32000, 1024
	default:
		return nil, fmt.Errorf("model preset %q is not one of tiny, demo, 124m", name)
	}
	c.HeadDim = c.Hidden / c.Heads
	return c, nil
}
