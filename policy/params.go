package policy

import "fmt"

// Tensor names one parameter tensor inside the contiguous parameter buffer.
type Tensor struct {
	Name   string // Hugging Face name, e.g. model.layers.0.self_attn.q_proj.weight
	Shape  []int
	Offset int // in elements, into Params.Data
	Size   int
}

// Layout lists the parameter tensors of an architecture in their canonical
// order, with offsets into one contiguous buffer. One buffer (and one for the
// gradients, with the same layout) means one all-reduce per step when
// training goes data-parallel, and one loop for the optimizer.
func Layout(c *Config) []Tensor {
	var ts []Tensor
	off := 0
	add := func(name string, shape ...int) {
		n := 1
		for _, s := range shape {
			n *= s
		}
		ts = append(ts, Tensor{Name: name, Shape: shape, Offset: off, Size: n})
		off += n
	}
	d, q, kv := c.Hidden, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	add("model.embed_tokens.weight", c.VocabSize, d)
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		add(p+"input_layernorm.weight", d)
		add(p+"self_attn.q_proj.weight", q, d)
		if c.QKVBias {
			add(p+"self_attn.q_proj.bias", q)
		}
		add(p+"self_attn.k_proj.weight", kv, d)
		if c.QKVBias {
			add(p+"self_attn.k_proj.bias", kv)
		}
		add(p+"self_attn.v_proj.weight", kv, d)
		if c.QKVBias {
			add(p+"self_attn.v_proj.bias", kv)
		}
		add(p+"self_attn.o_proj.weight", d, q)
		if c.QKNorm {
			add(p+"self_attn.q_norm.weight", c.HeadDim)
			add(p+"self_attn.k_norm.weight", c.HeadDim)
		}
		add(p+"post_attention_layernorm.weight", d)
		add(p+"mlp.gate_proj.weight", c.Intermediate, d)
		add(p+"mlp.up_proj.weight", c.Intermediate, d)
		add(p+"mlp.down_proj.weight", d, c.Intermediate)
	}
	add("model.norm.weight", d)
	if !c.TieEmbeddings {
		add("lm_head.weight", c.VocabSize, d)
	}
	return ts
}

// LayerParams are views of one decoder layer's tensors. Optional tensors
// (biases, QK-norm) are nil when the architecture lacks them.
type LayerParams[T Float] struct {
	AttnNorm, Q, QBias, K, KBias, V, VBias, O []T
	QNorm, KNorm                              []T
	MLPNorm, Gate, Up, Down                   []T
}

// Params holds all parameters (or all gradients) of a model in one buffer,
// with named views into it.
type Params[T Float] struct {
	Config    *Config
	Data      []T
	Tensors   []Tensor
	Embed     []T
	Layers    []LayerParams[T]
	FinalNorm []T
	LMHead    []T // aliases Embed when the embeddings are tied
}

// NewParams allocates a zeroed parameter buffer for c.
func NewParams[T Float](c *Config) *Params[T] {
	ts := Layout(c)
	last := ts[len(ts)-1]
	return ViewParams(c, make([]T, last.Offset+last.Size))
}

// ViewParams builds the named views over an existing buffer of the right size.
func ViewParams[T Float](c *Config, data []T) *Params[T] {
	p := &Params[T]{Config: c, Data: data, Tensors: Layout(c), Layers: make([]LayerParams[T], c.Layers)}
	for _, t := range p.Tensors {
		v := data[t.Offset : t.Offset+t.Size : t.Offset+t.Size]
		var l int
		var rest string
		if _, err := fmt.Sscanf(t.Name, "model.layers.%d.%s", &l, &rest); err == nil {
			lp := &p.Layers[l]
			*map[string]*[]T{
				"input_layernorm.weight":          &lp.AttnNorm,
				"self_attn.q_proj.weight":         &lp.Q,
				"self_attn.q_proj.bias":           &lp.QBias,
				"self_attn.k_proj.weight":         &lp.K,
				"self_attn.k_proj.bias":           &lp.KBias,
				"self_attn.v_proj.weight":         &lp.V,
				"self_attn.v_proj.bias":           &lp.VBias,
				"self_attn.o_proj.weight":         &lp.O,
				"self_attn.q_norm.weight":         &lp.QNorm,
				"self_attn.k_norm.weight":         &lp.KNorm,
				"post_attention_layernorm.weight": &lp.MLPNorm,
				"mlp.gate_proj.weight":            &lp.Gate,
				"mlp.up_proj.weight":              &lp.Up,
				"mlp.down_proj.weight":            &lp.Down,
			}[rest] = v
			continue
		}
		switch t.Name {
		case "model.embed_tokens.weight":
			p.Embed = v
		case "model.norm.weight":
			p.FinalNorm = v
		case "lm_head.weight":
			p.LMHead = v
		}
	}
	if c.TieEmbeddings {
		p.LMHead = p.Embed
	}
	return p
}

// Tensor returns the view of the named tensor, or nil.
func (p *Params[T]) Tensor(name string) []T {
	for _, t := range p.Tensors {
		if t.Name == name {
			return p.Data[t.Offset : t.Offset+t.Size]
		}
	}
	return nil
}
