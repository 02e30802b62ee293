package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// hfTestConfigs are small configs of the three architectures, each with the
// options that set it apart.
func hfTestConfigs() map[string]*Config {
	return map[string]*Config{
		"llama": {Architecture: "LlamaForCausalLM", VocabSize: 50, Hidden: 32, Intermediate: 48, Layers: 2, Heads: 4,
			KVHeads: 2, HeadDim: 8, MaxPositions: 64, RMSNormEps: 1e-5, RopeTheta: 500000, BOS: 1, EOS: []int{2},
			RopeScaling: &RopeScaling{Type: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 16}},
		"qwen2_tied": {Architecture: "Qwen2ForCausalLM", VocabSize: 40, Hidden: 24, Intermediate: 40, Layers: 1, Heads: 3,
			KVHeads: 1, HeadDim: 8, MaxPositions: 32, RMSNormEps: 1e-6, RopeTheta: 1e6, TieEmbeddings: true,
			QKVBias: true, BOS: -1, EOS: []int{3, 4}},
		"qwen3": {Architecture: "Qwen3ForCausalLM", VocabSize: 30, Hidden: 16, Intermediate: 24, Layers: 2, Heads: 2,
			KVHeads: 1, HeadDim: 12, MaxPositions: 16, RMSNormEps: 1e-6, RopeTheta: 10000, QKNorm: true, BOS: -1,
			EOS: []int{5}, RopeScaling: &RopeScaling{Type: "linear", Factor: 2}},
	}
}

func writeTestFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestHFConfigRoundTrip(t *testing.T) {
	for name, c := range hfTestConfigs() {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.json")
			if err := WriteHFConfig(path, c); err != nil {
				t.Fatal(err)
			}
			got, err := ReadHFConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c) {
				t.Errorf("got %+v\nwant %+v", got, c)
			}
		})
	}
}

// TestHFConfigTransformersFormats reads config.json as transformers 4.x
// (rope_theta, rope_scaling with "type", torch_dtype) and 5.x
// (rope_parameters, dtype) write it, and the class defaults of absent keys.
func TestHFConfigTransformersFormats(t *testing.T) {
	cases := []struct {
		name, json string
		want       Config
	}{
		{"llama 4.x", `{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 128, "hidden_size": 64,
			"intermediate_size": 176, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
			"max_position_embeddings": 256, "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "hidden_act": "silu",
			"rope_scaling": {"type": "llama3", "factor": 8, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
			"original_max_position_embeddings": 8192}, "bos_token_id": 0, "eos_token_id": [1, 7],
			"tie_word_embeddings": false, "attention_bias": false, "mlp_bias": false, "torch_dtype": "bfloat16",
			"pretraining_tp": 1, "initializer_range": 0.02, "use_cache": true, "transformers_version": "4.46.0"}`,
			Config{Architecture: "LlamaForCausalLM", VocabSize: 128, Hidden: 64, Intermediate: 176, Layers: 2, Heads: 4,
				KVHeads: 2, HeadDim: 16, MaxPositions: 256, RMSNormEps: 1e-5, RopeTheta: 500000, BOS: 0, EOS: []int{1, 7},
				RopeScaling: &RopeScaling{Type: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 8192}}},
		{"qwen3 5.x", `{"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": 128, "hidden_size": 64,
			"intermediate_size": 176, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
			"head_dim": 32, "max_position_embeddings": 256, "rms_norm_eps": 1e-06, "dtype": "float32",
			"rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"}, "tie_word_embeddings": true,
			"bos_token_id": null, "eos_token_id": 3, "layer_types": ["full_attention", "full_attention"],
			"use_sliding_window": false, "sliding_window": null, "transformers_version": "5.24.0"}`,
			Config{Architecture: "Qwen3ForCausalLM", VocabSize: 128, Hidden: 64, Intermediate: 176, Layers: 2, Heads: 4,
				KVHeads: 2, HeadDim: 32, MaxPositions: 256, RMSNormEps: 1e-6, RopeTheta: 1e6, TieEmbeddings: true,
				QKNorm: true, BOS: -1, EOS: []int{3}}},
		{"qwen2 5.x linear", `{"architectures": ["Qwen2ForCausalLM"], "vocab_size": 16, "hidden_size": 8,
			"intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
			"rope_parameters": {"rope_theta": 5000.0, "rope_type": "linear", "factor": 4.0}}`,
			Config{Architecture: "Qwen2ForCausalLM", VocabSize: 16, Hidden: 8, Intermediate: 8, Layers: 1, Heads: 2,
				KVHeads: 1, HeadDim: 4, MaxPositions: 32768, RMSNormEps: 1e-6, RopeTheta: 5000, QKVBias: true, BOS: -1,
				RopeScaling: &RopeScaling{Type: "linear", Factor: 4}}},
		{"rope_scaling wins, theta from the top", `{"architectures": ["LlamaForCausalLM"], "vocab_size": 16, "hidden_size": 8,
			"intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "rope_theta": 123.0,
			"rope_scaling": {"rope_type": "linear", "factor": 2.0}, "rope_parameters": {"rope_type": "default"}}`,
			Config{Architecture: "LlamaForCausalLM", VocabSize: 16, Hidden: 8, Intermediate: 8, Layers: 1, Heads: 2,
				KVHeads: 2, HeadDim: 4, MaxPositions: 2048, RMSNormEps: 1e-6, RopeTheta: 123, BOS: 1, EOS: []int{2},
				RopeScaling: &RopeScaling{Type: "linear", Factor: 2}}},
		{"llama defaults, default rope_type", `{"model_type": "llama", "vocab_size": 16, "hidden_size": 8,
			"intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "rope_scaling": {"rope_type": "default"}}`,
			Config{Architecture: "LlamaForCausalLM", VocabSize: 16, Hidden: 8, Intermediate: 8, Layers: 1, Heads: 2,
				KVHeads: 2, HeadDim: 4, MaxPositions: 2048, RMSNormEps: 1e-6, RopeTheta: 10000, BOS: 1, EOS: []int{2}}},
		{"qwen3 class defaults", `{"architectures": ["Qwen3ForCausalLM"], "vocab_size": 16, "hidden_size": 8,
			"intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 64, "num_key_value_heads": null}`,
			Config{Architecture: "Qwen3ForCausalLM", VocabSize: 16, Hidden: 8, Intermediate: 8, Layers: 1, Heads: 64,
				KVHeads: 64, HeadDim: 128, MaxPositions: 32768, RMSNormEps: 1e-6, RopeTheta: 10000, QKNorm: true, BOS: -1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeTestFile(t, t.TempDir(), "config.json", c.json)
			got, err := ReadHFConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, c.want) {
				t.Errorf("got  %+v\nwant %+v", *got, c.want)
			}
		})
	}
}

func TestHFConfigErrors(t *testing.T) {
	base := `"vocab_size": 16, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2`
	cases := []struct{ name, json, want string }{
		{"unknown architecture", `{"architectures": ["GPT2LMHeadModel"], ` + base + `}`, `architectures: "GPT2LMHeadModel" is not supported`},
		{"no architecture", `{` + base + `}`, "architectures: missing"},
		{"unknown model_type", `{"model_type": "mistral", ` + base + `}`, `model_type: "mistral" is not supported`},
		{"model_type mismatch", `{"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen2", ` + base + `}`, `model_type: "qwen2" does not match`},
		{"gelu", `{"architectures": ["LlamaForCausalLM"], "hidden_act": "gelu", ` + base + `}`, `hidden_act: "gelu" is not supported`},
		{"malformed", `{"architectures": ["LlamaForCausalLM"], ` + base, "invalid JSON"},
		{"wrong type", `{"architectures": ["LlamaForCausalLM"], "vocab_size": "many", "hidden_size": 8}`, "vocab_size: a JSON string"},
		{"missing hidden_size", `{"architectures": ["LlamaForCausalLM"], "vocab_size": 16}`, "hidden_size: missing"},
		{"llama attention_bias", `{"architectures": ["LlamaForCausalLM"], "attention_bias": true, ` + base + `}`, "attention_bias: true is not supported"},
		{"mlp_bias", `{"architectures": ["LlamaForCausalLM"], "mlp_bias": true, ` + base + `}`, "mlp_bias: true is not supported"},
		{"sliding window", `{"architectures": ["Qwen2ForCausalLM"], "use_sliding_window": true, "num_key_value_heads": 2, ` + base + `}`, "use_sliding_window"},
		{"yarn", `{"architectures": ["LlamaForCausalLM"], "rope_scaling": {"rope_type": "yarn", "factor": 4.0}, ` + base + `}`, `rope_scaling.rope_type: "yarn" is not supported`},
		{"llama3 incomplete", `{"architectures": ["LlamaForCausalLM"], "rope_parameters": {"rope_type": "llama3", "factor": 8.0}, ` + base + `}`, "rope_parameters.low_freq_factor: missing"},
		{"partial rotary", `{"architectures": ["LlamaForCausalLM"], "rope_parameters": {"rope_type": "default", "partial_rotary_factor": 0.5}, ` + base + `}`, "partial_rotary_factor"},
		{"eos out of vocab", `{"architectures": ["LlamaForCausalLM"], "eos_token_id": [1, 99], ` + base + `}`, "eos_token_id: 99 is outside"},
		{"bos out of vocab", `{"architectures": ["LlamaForCausalLM"], "bos_token_id": 16, ` + base + `}`, "bos_token_id: 16 is outside"},
		{"eos not ids", `{"architectures": ["LlamaForCausalLM"], "eos_token_id": "</s>", ` + base + `}`, "eos_token_id"},
		{"qwen kv heads default 32", `{"architectures": ["Qwen2ForCausalLM"], ` + base + `}`, "num_key_value_heads: 32"},
		{"odd head_dim", `{"architectures": ["LlamaForCausalLM"], "head_dim": 3, ` + base + `}`, "head_dim"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeTestFile(t, t.TempDir(), "config.json", c.json)
			_, err := ReadHFConfig(path)
			if err == nil || !strings.Contains(err.Error(), path+": ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q after the path", err, c.want)
			}
		})
	}
	if _, err := ReadHFConfig(filepath.Join(t.TempDir(), "config.json")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestHFWriteConfigRefusesWhatTransformersCannotLoad(t *testing.T) {
	c := hfTestConfigs()["llama"]
	c.QKVBias = true // Llama's attention_bias would add o_proj.bias
	if err := WriteHFConfig(filepath.Join(t.TempDir(), "config.json"), c); err == nil || !strings.Contains(err.Error(), "q/k/v biases") {
		t.Errorf("Llama with q/k/v bias: %v", err)
	}
	c = hfTestConfigs()["qwen2_tied"]
	c.QKVBias = false
	if err := WriteHFConfig(filepath.Join(t.TempDir(), "config.json"), c); err == nil {
		t.Error("Qwen2 without biases: no error")
	}
}

func TestHFConfigFloatsLookLikePython(t *testing.T) {
	for in, want := range map[float64]string{10000: "10000.0", 1e-6: "1e-06", 1e-5: "1e-05", 0.02: "0.02", 0: "0.0", 1e6: "1000000.0", 2.5e16: "2.5e+16"} {
		if got := string(hfFloat(in)); got != want {
			t.Errorf("hfFloat(%g) = %s, want %s", in, got, want)
		}
	}
	path := filepath.Join(t.TempDir(), "config.json")
	if err := WriteHFConfig(path, hfTestConfigs()["llama"]); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	for _, want := range []string{`"model_type": "llama"`, `"rope_theta": 500000.0`, `"rms_norm_eps": 1e-05`, `"hidden_act": "silu"`,
		`"torch_dtype": "float32"`, `"architectures": [` + "\n" + `    "LlamaForCausalLM"`, `"rope_type": "llama3"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("config.json lacks %s:\n%s", want, raw)
		}
	}
}

func TestHFGenerationConfig(t *testing.T) {
	dir := t.TempDir()
	if g, err := ReadGenerationConfig(filepath.Join(dir, "generation_config.json")); g != nil || err != nil {
		t.Errorf("missing file: %v, %v", g, err)
	}
	path := writeTestFile(t, dir, "generation_config.json",
		`{"bos_token_id": 1, "eos_token_id": [2, 9], "do_sample": true, "temperature": 0.6, "top_p": 0.95, "transformers_version": "4.51.0"}`)
	g, err := ReadGenerationConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	want := &GenerationConfig{BOS: 1, EOS: []int{2, 9}, PAD: -1, DoSample: true, Temperature: 0.6, TopP: 0.95, TopK: 50}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("got %+v, want %+v", g, want)
	}
	out := filepath.Join(dir, "out.json")
	if err := WriteGenerationConfig(out, g); err != nil {
		t.Fatal(err)
	}
	if back, err := ReadGenerationConfig(out); err != nil || !reflect.DeepEqual(back, g) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	writeTestFile(t, dir, "one.json", `{"eos_token_id": 7}`)
	if g, err := ReadGenerationConfig(filepath.Join(dir, "one.json")); err != nil || !slices.Equal(g.EOS, []int{7}) || g.BOS != -1 {
		t.Errorf("single eos: %+v, %v", g, err)
	}
	for name, content := range map[string]string{"bad.json": `{"eos_token_id": [1,`, "neg.json": `{"top_p": 1.5}`} {
		p := writeTestFile(t, dir, name, content)
		if _, err := ReadGenerationConfig(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
