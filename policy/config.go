package policy

import (
	"fmt"
	"math"
)

// Config is the architecture of a Llama/Qwen decoder. Field meanings follow
// Hugging Face config.json; hf.go maps between the two.
type Config struct {
	Architecture  string // LlamaForCausalLM, Qwen2ForCausalLM or Qwen3ForCausalLM
	VocabSize     int
	Hidden        int // d
	Intermediate  int // SwiGLU inner width
	Layers        int
	Heads         int
	KVHeads       int // grouped-query attention: Heads % KVHeads == 0
	HeadDim       int
	MaxPositions  int
	RMSNormEps    float64
	RopeTheta     float64
	RopeScaling   *RopeScaling // nil: plain RoPE
	TieEmbeddings bool         // lm_head shares model.embed_tokens.weight
	QKNorm        bool         // Qwen3: RMSNorm over head_dim on q and k before RoPE
	QKVBias       bool         // Qwen2 (and Llama attention_bias): biases on q, k, v projections
	BOS           int          // -1 when absent
	EOS           []int        // every id that ends generation
}

// RopeScaling is HF's rope_scaling block. Type is "linear" or "llama3".
type RopeScaling struct {
	Type                 string
	Factor               float64
	LowFreqFactor        float64
	HighFreqFactor       float64
	OriginalMaxPositions int
}

// Architectures rft can load and save.
var Architectures = []string{"LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"}

// Validate reports the first field a user must fix, by its config.json name.
func (c *Config) Validate() error {
	known := false
	for _, a := range Architectures {
		known = known || a == c.Architecture
	}
	switch {
	case !known:
		return fmt.Errorf("architectures: %q is not supported (want one of %v)", c.Architecture, Architectures)
	case c.VocabSize <= 0:
		return fmt.Errorf("vocab_size: must be positive, got %d", c.VocabSize)
	case c.Hidden <= 0:
		return fmt.Errorf("hidden_size: must be positive, got %d", c.Hidden)
	case c.Intermediate <= 0:
		return fmt.Errorf("intermediate_size: must be positive, got %d", c.Intermediate)
	case c.Layers <= 0:
		return fmt.Errorf("num_hidden_layers: must be positive, got %d", c.Layers)
	case c.Heads <= 0:
		return fmt.Errorf("num_attention_heads: must be positive, got %d", c.Heads)
	case c.KVHeads <= 0 || c.Heads%c.KVHeads != 0:
		return fmt.Errorf("num_key_value_heads: %d must be positive and divide num_attention_heads %d", c.KVHeads, c.Heads)
	case c.HeadDim <= 0 || c.HeadDim%2 != 0:
		return fmt.Errorf("head_dim: must be positive and even (RoPE rotates pairs), got %d", c.HeadDim)
	case c.MaxPositions <= 0:
		return fmt.Errorf("max_position_embeddings: must be positive, got %d", c.MaxPositions)
	case !(c.RMSNormEps > 0) || math.IsInf(c.RMSNormEps, 0):
		return fmt.Errorf("rms_norm_eps: must be positive, got %g", c.RMSNormEps)
	case !(c.RopeTheta > 0) || math.IsInf(c.RopeTheta, 0):
		return fmt.Errorf("rope_theta: must be positive, got %g", c.RopeTheta)
	}
	for _, id := range c.EOS {
		if id < 0 || id >= c.VocabSize {
			return fmt.Errorf("eos_token_id: %d is outside the vocabulary [0, %d)", id, c.VocabSize)
		}
	}
	if c.RopeScaling != nil {
		switch c.RopeScaling.Type {
		case "linear", "llama3":
		default:
			return fmt.Errorf("rope_scaling.rope_type: %q is not supported (want linear or llama3)", c.RopeScaling.Type)
		}
		if !(c.RopeScaling.Factor > 0) {
			return fmt.Errorf("rope_scaling.factor: must be positive, got %g", c.RopeScaling.Factor)
		}
	}
	return nil
}

// ParamCount is the number of stored parameters (a tied head counts once).
func (c *Config) ParamCount() int {
	n := 0
	for _, t := range Layout(c) {
		n += t.Size
	}
	return n
}
