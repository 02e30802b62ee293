package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/rft-dev/rft/internal/atomicfile"
)

// Hugging Face checkpoint directories (DESIGN.md, decision 2): config.json
// (this file), generation_config.json (hfgen.go), and the directory as a whole
// with model.safetensors or its shards (hfdir.go).
//
// config.json is read the way transformers 4.x and 5.x read it: a key that is
// absent takes the default of the transformers config class for that
// architecture (LlamaConfig, Qwen2Config, Qwen3Config), while an explicit null
// means "none". RoPE comes either as rope_theta + rope_scaling (4.x) or as
// rope_parameters (5.x); rope_scaling wins when both are set, as in 5.x.

// hfArch is what transformers builds for one architecture.
type hfArch struct {
	modelType string
	// Absent-key defaults of the transformers config class.
	kvHeads      int // 0: num_attention_heads
	headDim      int // 0: hidden_size / num_attention_heads
	maxPositions int
	bos          int // -1: none
	eos          int // -1: none
}

var hfArchs = map[string]hfArch{
	"LlamaForCausalLM": {modelType: "llama", maxPositions: 2048, bos: 1, eos: 2},
	"Qwen2ForCausalLM": {modelType: "qwen2", kvHeads: 32, maxPositions: 32768, bos: -1, eos: -1},
	"Qwen3ForCausalLM": {modelType: "qwen3", kvHeads: 32, headDim: 128, maxPositions: 32768, bos: -1, eos: -1},
}

// hfConfigJSON is config.json. Pointers and raw messages tell an absent key
// from a zero or null one.
type hfConfigJSON struct {
	Architectures         []string        `json:"architectures"`
	ModelType             string          `json:"model_type"`
	VocabSize             *int            `json:"vocab_size"`
	HiddenSize            *int            `json:"hidden_size"`
	IntermediateSize      *int            `json:"intermediate_size"`
	NumHiddenLayers       *int            `json:"num_hidden_layers"`
	NumAttentionHeads     *int            `json:"num_attention_heads"`
	NumKeyValueHeads      json.RawMessage `json:"num_key_value_heads"`
	HeadDim               json.RawMessage `json:"head_dim"`
	MaxPositionEmbeddings *int            `json:"max_position_embeddings"`
	RMSNormEps            *float64        `json:"rms_norm_eps"`
	RopeTheta             *float64        `json:"rope_theta"`
	RopeScaling           json.RawMessage `json:"rope_scaling"`
	RopeParameters        json.RawMessage `json:"rope_parameters"`
	TieWordEmbeddings     *bool           `json:"tie_word_embeddings"`
	AttentionBias         *bool           `json:"attention_bias"`
	MLPBias               *bool           `json:"mlp_bias"`
	UseSlidingWindow      *bool           `json:"use_sliding_window"`
	HiddenAct             *string         `json:"hidden_act"`
	BOSTokenID            json.RawMessage `json:"bos_token_id"`
	EOSTokenID            json.RawMessage `json:"eos_token_id"`
}

// ReadHFConfig reads a Hugging Face config.json of a Llama, Qwen2 or Qwen3
// decoder. Unknown keys are ignored; errors name the path and the key.
func ReadHFConfig(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := parseHFConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func parseHFConfig(raw []byte) (*Config, error) {
	var j hfConfigJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, hfJSONError(err)
	}
	arch := ""
	switch {
	case len(j.Architectures) > 0:
		arch = j.Architectures[0]
	case j.ModelType != "":
		// transformers picks the model class from model_type alone.
		for a, h := range hfArchs {
			if h.modelType == j.ModelType {
				arch = a
			}
		}
		if arch == "" {
			return nil, fmt.Errorf("model_type: %q is not supported (want llama, qwen2 or qwen3)", j.ModelType)
		}
	default:
		return nil, errors.New("architectures: missing (and no model_type)")
	}
	h, ok := hfArchs[arch]
	if !ok {
		return nil, fmt.Errorf("architectures: %q is not supported (want one of %v)", arch, Architectures)
	}
	if j.ModelType != "" && j.ModelType != h.modelType {
		return nil, fmt.Errorf("model_type: %q does not match architectures %q (want %q)", j.ModelType, arch, h.modelType)
	}
	c := &Config{Architecture: arch, QKNorm: arch == "Qwen3ForCausalLM", QKVBias: arch == "Qwen2ForCausalLM",
		MaxPositions: h.maxPositions, RMSNormEps: 1e-6, RopeTheta: 10000}
	for _, f := range []struct {
		key string
		src *int
		dst *int
	}{
		{"vocab_size", j.VocabSize, &c.VocabSize},
		{"hidden_size", j.HiddenSize, &c.Hidden},
		{"intermediate_size", j.IntermediateSize, &c.Intermediate},
		{"num_hidden_layers", j.NumHiddenLayers, &c.Layers},
		{"num_attention_heads", j.NumAttentionHeads, &c.Heads},
	} {
		if f.src == nil {
			return nil, fmt.Errorf("%s: missing", f.key)
		}
		*f.dst = *f.src
	}
	if c.Heads <= 0 {
		return nil, fmt.Errorf("num_attention_heads: must be positive, got %d", c.Heads)
	}
	var err error
	if c.KVHeads, err = hfOptionalInt("num_key_value_heads", j.NumKeyValueHeads, h.kvHeads, c.Heads); err != nil {
		return nil, err
	}
	if c.HeadDim, err = hfOptionalInt("head_dim", j.HeadDim, h.headDim, c.Hidden/c.Heads); err != nil {
		return nil, err
	}
	if j.MaxPositionEmbeddings != nil {
		c.MaxPositions = *j.MaxPositionEmbeddings
	}
	if j.RMSNormEps != nil {
		c.RMSNormEps = *j.RMSNormEps
	}
	if j.TieWordEmbeddings != nil {
		c.TieEmbeddings = *j.TieWordEmbeddings
	}
	if j.HiddenAct != nil && *j.HiddenAct != "silu" {
		return nil, fmt.Errorf("hidden_act: %q is not supported (want silu: the MLP is SwiGLU)", *j.HiddenAct)
	}
	// Llama's and Qwen3's attention_bias also puts a bias on o_proj, and
	// Llama's mlp_bias on the MLP: tensors rft's layout does not have.
	// Qwen2 always has q/k/v biases and ignores attention_bias.
	if arch != "Qwen2ForCausalLM" && j.AttentionBias != nil && *j.AttentionBias {
		return nil, errors.New("attention_bias: true is not supported (it adds o_proj.bias)")
	}
	if j.MLPBias != nil && *j.MLPBias {
		return nil, errors.New("mlp_bias: true is not supported")
	}
	if j.UseSlidingWindow != nil && *j.UseSlidingWindow {
		return nil, errors.New("use_sliding_window: true is not supported")
	}
	if err := hfReadRope(c, &j); err != nil {
		return nil, err
	}
	if c.BOS, err = hfOptionalInt("bos_token_id", j.BOSTokenID, h.bos, -1); err != nil {
		return nil, err
	}
	if j.EOSTokenID == nil {
		if h.eos >= 0 {
			c.EOS = []int{h.eos}
		}
	} else if c.EOS, err = hfIDs("eos_token_id", j.EOSTokenID); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.BOS >= c.VocabSize {
		return nil, fmt.Errorf("bos_token_id: %d is outside the vocabulary [0, %d)", c.BOS, c.VocabSize)
	}
	return c, nil
}

// hfOptionalInt decodes an int key: absent takes def (or ifNull when def is
// 0), an explicit null takes ifNull.
func hfOptionalInt(key string, raw json.RawMessage, def, ifNull int) (int, error) {
	switch {
	case raw == nil && def != 0:
		return def, nil
	case raw == nil || string(raw) == "null":
		return ifNull, nil
	}
	var v int
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, fmt.Errorf("%s: %s is not an integer", key, raw)
	}
	return v, nil
}

// hfIDs decodes a token id key that may be an int, a list of ints or null.
func hfIDs(key string, raw json.RawMessage) ([]int, error) {
	if raw == nil || string(raw) == "null" {
		return nil, nil
	}
	var one int
	if json.Unmarshal(raw, &one) == nil {
		return []int{one}, nil
	}
	var list []int
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("%s: %s is neither an integer nor a list of integers", key, raw)
	}
	return list, nil
}

// hfReadRope sets RopeTheta and RopeScaling the way transformers 5.x
// standardises them: the parameters are rope_scaling if set, else
// rope_parameters; rope_theta comes from them, else from the top level.
func hfReadRope(c *Config, j *hfConfigJSON) error {
	key, raw := "rope_scaling", j.RopeScaling
	if raw == nil || string(raw) == "null" || string(raw) == "{}" {
		key, raw = "rope_parameters", j.RopeParameters
	}
	var rp map[string]any
	if raw != nil {
		if err := json.Unmarshal(raw, &rp); err != nil {
			return fmt.Errorf("%s: must be an object or null: %w", key, err)
		}
	}
	num := func(name string) (float64, bool, error) {
		v, ok := rp[name]
		if !ok || v == nil {
			return 0, false, nil
		}
		f, isNum := v.(float64)
		if !isNum {
			return 0, false, fmt.Errorf("%s.%s: %v is not a number", key, name, v)
		}
		return f, true, nil
	}
	if j.RopeTheta != nil {
		c.RopeTheta = *j.RopeTheta
	}
	if theta, ok, err := num("rope_theta"); err != nil {
		return err
	} else if ok {
		c.RopeTheta = theta
	}
	typ, _ := rp["rope_type"].(string)
	if typ == "" {
		typ, _ = rp["type"].(string)
	}
	if pf, ok, err := num("partial_rotary_factor"); err != nil {
		return err
	} else if ok && pf != 1 {
		return fmt.Errorf("%s.partial_rotary_factor: %g is not supported (want 1)", key, pf)
	}
	switch typ {
	case "", "default":
		return nil
	case "linear", "llama3":
	default:
		return fmt.Errorf("%s.rope_type: %q is not supported (want default, linear or llama3)", key, typ)
	}
	s := &RopeScaling{Type: typ}
	type field struct {
		name string
		dst  *float64
	}
	fields := []field{{"factor", &s.Factor}}
	var origMax float64
	if typ == "llama3" {
		fields = append(fields, field{"low_freq_factor", &s.LowFreqFactor}, field{"high_freq_factor", &s.HighFreqFactor},
			field{"original_max_position_embeddings", &origMax})
	}
	for _, f := range fields {
		v, ok, err := num(f.name)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s.%s: missing (required by rope_type %s)", key, f.name, typ)
		}
		*f.dst = v
	}
	if origMax != math.Trunc(origMax) {
		return fmt.Errorf("%s.original_max_position_embeddings: %g is not an integer", key, origMax)
	}
	s.OriginalMaxPositions = int(origMax)
	c.RopeScaling = s
	return nil
}

// hfJSONError names the key of a JSON type error, or the byte offset of a
// syntax error.
func hfJSONError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return fmt.Errorf("%s: a JSON %s is not a valid %s", te.Field, te.Value, te.Type)
	case errors.As(err, &se):
		return fmt.Errorf("invalid JSON at byte %d: %w", se.Offset, err)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// hfCompatible reports a Config that no transformers class describes: each
// architecture fixes its biases and QK-norm.
func hfCompatible(c *Config) error {
	want := map[string][2]bool{ // QKVBias, QKNorm
		"LlamaForCausalLM": {false, false},
		"Qwen2ForCausalLM": {true, false},
		"Qwen3ForCausalLM": {false, true},
	}[c.Architecture]
	if c.QKVBias != want[0] || c.QKNorm != want[1] {
		return fmt.Errorf("architectures: %s has q/k/v biases %v and QK-norm %v in transformers, config has %v and %v",
			c.Architecture, want[0], want[1], c.QKVBias, c.QKNorm)
	}
	return nil
}

// WriteHFConfig writes c as a config.json that transformers'
// AutoModelForCausalLM.from_pretrained loads (4.x and 5.x: RoPE is written
// both as rope_theta + rope_scaling and as rope_parameters). Keys are sorted
// and indented as transformers writes them.
func WriteHFConfig(path string, c *Config) error {
	b, err := encodeHFConfig(c)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return hfWriteFile(path, b)
}

func encodeHFConfig(c *Config) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := hfCompatible(c); err != nil {
		return nil, err
	}
	h := hfArchs[c.Architecture]
	rope := map[string]any{"rope_type": "default", "rope_theta": hfFloat(c.RopeTheta)}
	var scaling any
	if s := c.RopeScaling; s != nil {
		sc := map[string]any{"rope_type": s.Type, "factor": hfFloat(s.Factor)}
		if s.Type == "llama3" {
			sc["low_freq_factor"] = hfFloat(s.LowFreqFactor)
			sc["high_freq_factor"] = hfFloat(s.HighFreqFactor)
			sc["original_max_position_embeddings"] = s.OriginalMaxPositions
		}
		scaling = sc
		for k, v := range sc {
			rope[k] = v
		}
	}
	m := map[string]any{
		"architectures":           []string{c.Architecture},
		"model_type":              h.modelType,
		"vocab_size":              c.VocabSize,
		"hidden_size":             c.Hidden,
		"intermediate_size":       c.Intermediate,
		"num_hidden_layers":       c.Layers,
		"num_attention_heads":     c.Heads,
		"num_key_value_heads":     c.KVHeads,
		"head_dim":                c.HeadDim,
		"max_position_embeddings": c.MaxPositions,
		"rms_norm_eps":            hfFloat(c.RMSNormEps),
		"rope_theta":              hfFloat(c.RopeTheta),
		"rope_scaling":            scaling,
		"rope_parameters":         rope,
		"tie_word_embeddings":     c.TieEmbeddings,
		"hidden_act":              "silu",
		"initializer_range":       hfFloat(0.02),
		"attention_dropout":       hfFloat(0),
		"use_cache":               true,
		"torch_dtype":             "float32",
		"dtype":                   "float32",
		"bos_token_id":            hfID(c.BOS),
		"eos_token_id":            hfIDList(c.EOS),
		"pad_token_id":            nil,
	}
	switch c.Architecture {
	case "LlamaForCausalLM":
		m["attention_bias"], m["mlp_bias"], m["pretraining_tp"] = false, false, 1
	case "Qwen2ForCausalLM":
		m["use_sliding_window"], m["sliding_window"], m["max_window_layers"] = false, nil, c.Layers
	case "Qwen3ForCausalLM":
		m["attention_bias"] = false
		m["use_sliding_window"], m["sliding_window"], m["max_window_layers"] = false, nil, c.Layers
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// hfFloat formats f as Python's json module does (10000.0, 1e-06), so that
// transformers' typed configs see floats, not ints.
func hfFloat(f float64) json.Number {
	a := math.Abs(f)
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if a != 0 && (a < 1e-4 || a >= 1e16) {
		s = strconv.FormatFloat(f, 'e', -1, 64) // 1e-06, as Python writes it
	} else if !strings.Contains(s, ".") {
		s += ".0"
	}
	return json.Number(s)
}

func hfID(id int) any {
	if id < 0 {
		return nil
	}
	return id
}

func hfIDList(ids []int) any {
	switch len(ids) {
	case 0:
		return nil
	case 1:
		return ids[0]
	}
	return ids
}

// hfWriteFile writes b to path atomically (internal/atomicfile).
func hfWriteFile(path string, b []byte) error {
	return atomicfile.WriteBytes(path, b, 0o644)
}

// hfWriteFileFrom copies r to path atomically.
func hfWriteFileFrom(path string, r io.Reader) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
}
