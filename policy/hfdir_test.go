package policy

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rft-dev/rft/policy/safetensors"
)

// hfTestParams fills a parameter buffer with values that exercise every
// float32 bit: signs, tiny and huge magnitudes, a subnormal.
func hfTestParams(c *Config) *Params[float32] {
	p := NewParams[float32](c)
	for i := range p.Data {
		p.Data[i] = float32(math.Sin(float64(i)*0.731)) * float32(math.Pow(10, float64(i%9-4)))
	}
	p.Data[len(p.Data)-1] = math.Float32frombits(1)
	return p
}

func bitsEqual32(a, b []float32) bool {
	return len(a) == len(b) && slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

func TestSaveDirLoadDirRoundTrip(t *testing.T) {
	for name, c := range hfTestConfigs() {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ckpt")
			p := hfTestParams(c)
			if err := SaveDir(dir, p, nil); err != nil {
				t.Fatal(err)
			}
			c2, p2, err := LoadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c2, c) {
				t.Errorf("config: got %+v\nwant %+v", c2, c)
			}
			if !bitsEqual32(p2.Data, p.Data) {
				t.Error("parameters differ after the round trip")
			}
			if c.TieEmbeddings && &p2.LMHead[0] != &p2.Embed[0] {
				t.Error("tied head does not alias the embeddings")
			}
			f, err := safetensors.ReadHeader(filepath.Join(dir, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			if f.Metadata["format"] != "pt" || len(f.Names) != len(Layout(c)) {
				t.Errorf("model.safetensors: metadata %v, %d tensors", f.Metadata, len(f.Names))
			}
			entries, _ := os.ReadDir(filepath.Dir(dir))
			if len(entries) != 1 {
				t.Errorf("parent holds %v, want only ckpt", entries)
			}
			files, _ := os.ReadDir(dir)
			var names []string
			for _, e := range files {
				names = append(names, e.Name())
			}
			if want := []string{"config.json", "generation_config.json", "model.safetensors"}; !slices.Equal(names, want) {
				t.Errorf("files %v, want %v", names, want)
			}
		})
	}
}

func TestSaveDirReplacesExistingDir(t *testing.T) {
	c := hfTestConfigs()["qwen3"]
	dir := filepath.Join(t.TempDir(), "ckpt")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, dir, "stale.bin", "old")
	writeTestFile(t, dir, "tokenizer.json", `{"model": {"type": "BPE", "vocab": {"a": 0}}}`)
	src := t.TempDir()
	writeTestFile(t, src, "tokenizer.json", `{"model": {"type": "BPE", "vocab": {"a": 0}}}`)
	writeTestFile(t, src, "tokenizer_config.json", `{}`)
	p := hfTestParams(c)
	gen := &GenerationConfig{BOS: -1, EOS: []int{5, 7}, PAD: 0, DoSample: true, Temperature: 0.7, TopP: 0.9, TopK: 20}
	if err := SaveDir(dir, p, gen); err != nil {
		t.Fatal(err)
	}
	if err := CopyTokenizerFiles(src, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "stale.bin")); !os.IsNotExist(err) {
		t.Errorf("stale file survived: %v", err)
	}
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("tokenizer file not copied: %v", err)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("parent holds %v, want only ckpt", entries)
	}
	g, err := ReadGenerationConfig(filepath.Join(dir, "generation_config.json"))
	if err != nil || !reflect.DeepEqual(g, gen) {
		t.Errorf("generation config %+v, %v", g, err)
	}
	c2, _, err := LoadDir(dir)
	if err != nil || !slices.Equal(c2.EOS, []int{5, 7}) {
		t.Errorf("EOS merged from generation_config.json: %v, %v", c2.EOS, err)
	}
}

func TestSaveDirFailureLeavesNothing(t *testing.T) {
	c := hfTestConfigs()["llama"]
	short := hfTestParams(c)
	short.Data = short.Data[:len(short.Data)-1]
	badCfg := *c
	badCfg.QKVBias = true // a Llama no transformers class describes
	invalid := *c
	invalid.Heads = 3
	cases := map[string]*Params[float32]{
		"short buffer":   short,
		"q/k/v bias":     ViewParams(&badCfg, make([]float32, badCfg.ParamCount())),
		"invalid config": {Config: &invalid},
		"nil":            nil,
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "ckpt")
			if err := SaveDir(dir, p, nil); err == nil || !strings.Contains(err.Error(), dir) {
				t.Errorf("error %v, want one naming %s", err, dir)
			}
			if entries, _ := os.ReadDir(parent); len(entries) != 0 {
				t.Errorf("left behind: %v", entries)
			}
		})
	}
	// An existing checkpoint survives a failed save untouched.
	parent := t.TempDir()
	dir := filepath.Join(parent, "ckpt")
	p := hfTestParams(c)
	if err := SaveDir(dir, p, nil); err != nil {
		t.Fatal(err)
	}
	if err := SaveDir(dir, short, nil); err == nil {
		t.Fatal("short buffer saved")
	}
	if _, p2, err := LoadDir(dir); err != nil || !bitsEqual32(p2.Data, p.Data) {
		t.Errorf("existing checkpoint damaged: %v", err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 1 {
		t.Errorf("parent holds %v", entries)
	}
}

// writeHFDir writes a checkpoint by hand: config.json from c and the given
// tensors as model.safetensors.
func writeHFDir(t *testing.T, c *Config, ts []*safetensors.Tensor) string {
	t.Helper()
	dir := t.TempDir()
	if err := WriteHFConfig(filepath.Join(dir, "config.json"), c); err != nil {
		t.Fatal(err)
	}
	if err := safetensors.Write(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// layoutTensors are the tensors of p, encoded by enc (F32Tensor, BF16Tensor...).
func layoutTensors(p *Params[float32], enc func(string, []int, []float32) *safetensors.Tensor) []*safetensors.Tensor {
	var ts []*safetensors.Tensor
	for _, t := range p.Tensors {
		ts = append(ts, enc(t.Name, t.Shape, p.Data[t.Offset:t.Offset+t.Size]))
	}
	return ts
}

func TestLoadDirDTypesAndExtras(t *testing.T) {
	c := hfTestConfigs()["qwen2_tied"]
	p := hfTestParams(c)
	for name, enc := range map[string]func(string, []int, []float32) *safetensors.Tensor{
		"F16": safetensors.F16Tensor, "BF16": safetensors.BF16Tensor,
	} {
		t.Run(name, func(t *testing.T) {
			ts := layoutTensors(p, enc)
			// A tied checkpoint that also stores the head, and an old
			// inv_freq buffer: both ignored.
			ts = append(ts, enc("lm_head.weight", []int{c.VocabSize, c.Hidden}, p.Embed),
				enc("model.layers.0.self_attn.rotary_emb.inv_freq", []int{c.HeadDim / 2}, make([]float32, c.HeadDim/2)))
			_, got, err := LoadDir(writeHFDir(t, c, ts))
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range p.Data {
				var want float32
				if name == "F16" {
					want = safetensors.F16ToFloat32(safetensors.Float32ToF16(v))
				} else {
					want = safetensors.BF16ToFloat32(safetensors.Float32ToBF16(v))
				}
				if math.Float32bits(got.Data[i]) != math.Float32bits(want) {
					t.Fatalf("element %d: got %g, want %g", i, got.Data[i], want)
				}
			}
		})
	}
}

func TestLoadDirErrors(t *testing.T) {
	c := hfTestConfigs()["llama"]
	p := hfTestParams(c)
	good := func() []*safetensors.Tensor { return layoutTensors(p, safetensors.F32Tensor) }
	replace := func(name string, nt *safetensors.Tensor) []*safetensors.Tensor {
		ts := good()
		for i, tn := range ts {
			if tn.Name == name {
				ts[i] = nt
			}
		}
		return ts
	}
	const up = "model.layers.0.mlp.up_proj.weight"
	cases := []struct {
		name string
		ts   []*safetensors.Tensor
		want string
	}{
		{"shape mismatch", replace(up, safetensors.F32Tensor(up, []int{48, 16}, make([]float32, 48*16))),
			"model.safetensors: tensor " + up + ": shape [48 16], want [48 32]"},
		{"I64", replace(up, safetensors.I64Tensor(up, []int{48, 32}, make([]int64, 48*32))),
			"model.safetensors: tensor " + up + ": dtype I64 is not a float type"},
		{"missing", good()[1:], "model.safetensors: missing tensor model.embed_tokens.weight"},
		{"unexpected", append(good(), safetensors.F32Tensor("model.layers.0.self_attn.o_proj.bias", []int{32}, make([]float32, 32))),
			"model.safetensors: unexpected tensor model.layers.0.self_attn.o_proj.bias"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeHFDir(t, c, tc.ts)
			_, _, err := LoadDir(dir)
			if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, tc.want)) {
				t.Errorf("error %v, want %q", err, filepath.Join(dir, tc.want))
			}
			if _, err := Inspect(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, tc.want)) {
				t.Errorf("Inspect: error %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("truncated safetensors", func(t *testing.T) {
		dir := writeHFDir(t, c, good())
		path := filepath.Join(dir, "model.safetensors")
		st, _ := os.Stat(path)
		if err := os.Truncate(path, st.Size()-3); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadDir(dir)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("tied head of the wrong shape", func(t *testing.T) {
		tc := hfTestConfigs()["qwen2_tied"]
		tp := hfTestParams(tc)
		ts := append(layoutTensors(tp, safetensors.F32Tensor), safetensors.F32Tensor("lm_head.weight", []int{1, tc.Hidden}, tp.Embed[:tc.Hidden]))
		if _, _, err := LoadDir(writeHFDir(t, tc, ts)); err == nil || !strings.Contains(err.Error(), "tensor lm_head.weight: shape [1 24]") {
			t.Errorf("error %v", err)
		}
	})
	for name, content := range map[string]string{
		"unknown architecture": `{"architectures": ["GPT2LMHeadModel"], "vocab_size": 8}`,
		"gelu": `{"architectures": ["LlamaForCausalLM"], "hidden_act": "gelu", "vocab_size": 50, "hidden_size": 32,
			"intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4}`,
		"malformed JSON": `{"architectures": [`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeHFDir(t, c, good())
			path := writeTestFile(t, dir, "config.json", content)
			if _, _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v, want one naming %s", err, path)
			}
		})
	}
	t.Run("generation_config EOS out of vocab", func(t *testing.T) {
		dir := writeHFDir(t, c, good())
		path := writeTestFile(t, dir, "generation_config.json", `{"eos_token_id": [2, 500]}`)
		if _, _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), path+": eos_token_id: 500") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("no weights", func(t *testing.T) {
		dir := t.TempDir()
		if err := WriteHFConfig(filepath.Join(dir, "config.json"), c); err != nil {
			t.Fatal(err)
		}
		if _, _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "no model.safetensors") {
			t.Errorf("error %v", err)
		}
	})
}

func TestLoadDirSharded(t *testing.T) {
	c := hfTestConfigs()["llama"]
	p := hfTestParams(c)
	dir := t.TempDir()
	if err := WriteHFConfig(filepath.Join(dir, "config.json"), c); err != nil {
		t.Fatal(err)
	}
	ts := layoutTensors(p, safetensors.F32Tensor)
	shards := map[string][]*safetensors.Tensor{}
	weightMap := map[string]string{}
	for i, tn := range ts {
		shard := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i%2]
		shards[shard] = append(shards[shard], tn)
		weightMap[tn.Name] = shard
	}
	for name, sts := range shards {
		if err := safetensors.Write(filepath.Join(dir, name), sts, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
	}
	writeIndex := func(wm map[string]string) string {
		b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 4 * len(p.Data)}, "weight_map": wm})
		return writeTestFile(t, dir, "model.safetensors.index.json", string(b))
	}
	index := writeIndex(weightMap)
	_, got, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bitsEqual32(got.Data, p.Data) {
		t.Error("sharded load differs")
	}
	info, err := Inspect(dir)
	if err != nil || info.Params != c.ParamCount() {
		t.Errorf("Inspect: %+v, %v", info, err)
	}
	bad := map[string]string{}
	for k, v := range weightMap {
		bad[k] = v
	}
	bad["model.norm.weight"] = "../elsewhere.safetensors"
	writeIndex(bad)
	if _, _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), index) || !strings.Contains(err.Error(), "model.norm.weight") {
		t.Errorf("shard outside the directory: %v", err)
	}
	delete(bad, "model.norm.weight")
	writeIndex(bad)
	if _, _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "tensor model.norm.weight: not listed") {
		t.Errorf("unlisted tensor: %v", err)
	}
	bad["model.norm.weight"] = weightMap["model.norm.weight"]
	bad["model.extra.weight"] = "model-00001-of-00002.safetensors"
	writeIndex(bad)
	if _, _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), index+": weight_map places tensor model.extra.weight") {
		t.Errorf("listed tensor absent: %v", err)
	}
}

func TestInspectDescribesWithoutLoading(t *testing.T) {
	c := hfTestConfigs()["qwen3"]
	p := hfTestParams(c)
	ts := layoutTensors(p, safetensors.BF16Tensor)
	ts[0] = safetensors.F32Tensor(ts[0].Name, ts[0].Shape, p.Embed)
	dir := writeHFDir(t, c, ts)
	writeTestFile(t, dir, "tokenizer.json", `{"version": "1.0", "added_tokens": [{"id": 0, "content": "<s>"}, {"id": 3, "content": "<pad>"}],
		"model": {"type": "BPE", "vocab": {"<s>": 0, "a": 1, "b": 2}, "merges": []}}`)
	info, err := Inspect(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := &ModelInfo{Architecture: "Qwen3ForCausalLM", Params: c.ParamCount(), DType: "BF16,F32", Config: info.Config,
		Files: []string{"config.json", "model.safetensors", "tokenizer.json"}, TokenizerFile: filepath.Join(dir, "tokenizer.json"),
		TokenizerModel: "BPE", TokenizerVocab: 4}
	if !reflect.DeepEqual(info, want) || !reflect.DeepEqual(info.Config, c) {
		t.Errorf("got %+v\nwant %+v", info, want)
	}
	// Unigram vocabularies are lists.
	writeTestFile(t, dir, "tokenizer.json", `{"model": {"type": "Unigram", "vocab": [["<unk>", 0], ["a", -1.5]]}}`)
	if info, err := Inspect(dir); err != nil || info.TokenizerVocab != 2 || info.TokenizerModel != "Unigram" {
		t.Errorf("unigram: %+v, %v", info, err)
	}
	// Only the header is read: data past it may be anything.
	path := filepath.Join(dir, "model.safetensors")
	raw, _ := os.ReadFile(path)
	for i := len(raw) - 64; i < len(raw); i++ {
		raw[i] = 0xff
	}
	os.WriteFile(path, raw, 0o644)
	if _, err := Inspect(dir); err != nil {
		t.Error(err)
	}
}

// TestLoadDirHFFixtures loads the directories transformers wrote
// (compat/make_fixtures.py) and checks the config against their config.json.
func TestLoadDirHFFixtures(t *testing.T) {
	for _, name := range []string{"llama", "qwen3", "qwen2_tied"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "testdata", "hf", name)
			raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
			if err != nil {
				t.Skipf("fixture %s absent (regenerate with `make compat`): %v", dir, err)
			}
			var j map[string]any
			if err := json.Unmarshal(raw, &j); err != nil {
				t.Fatal(err)
			}
			c, p, err := LoadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			num := func(k string) float64 { f, _ := j[k].(float64); return f }
			for k, got := range map[string]int{"vocab_size": c.VocabSize, "hidden_size": c.Hidden, "intermediate_size": c.Intermediate,
				"num_hidden_layers": c.Layers, "num_attention_heads": c.Heads, "num_key_value_heads": c.KVHeads,
				"max_position_embeddings": c.MaxPositions} {
				if float64(got) != num(k) {
					t.Errorf("%s: got %d, config.json has %v", k, got, j[k])
				}
			}
			if hd, ok := j["head_dim"]; ok && float64(c.HeadDim) != hd {
				t.Errorf("head_dim: got %d, config.json has %v", c.HeadDim, hd)
			}
			if c.RMSNormEps != num("rms_norm_eps") {
				t.Errorf("rms_norm_eps: got %g, config.json has %v", c.RMSNormEps, j["rms_norm_eps"])
			}
			if tie, _ := j["tie_word_embeddings"].(bool); tie != c.TieEmbeddings {
				t.Errorf("tie_word_embeddings: got %v, config.json has %v", c.TieEmbeddings, j["tie_word_embeddings"])
			}
			if arch := j["architectures"].([]any)[0]; arch != c.Architecture {
				t.Errorf("architecture %s, config.json has %v", c.Architecture, arch)
			}
			if len(p.Data) != c.ParamCount() {
				t.Errorf("%d parameters, layout %d", len(p.Data), c.ParamCount())
			}
			info, err := Inspect(dir)
			if err != nil || info.Params != c.ParamCount() {
				t.Errorf("Inspect: %+v, %v", info, err)
			}
			// The 4.x layout of the same config reads the same.
			if legacy, err := ReadHFConfig(filepath.Join(dir, "config.legacy.json")); err == nil {
				fromJSON, _ := ReadHFConfig(filepath.Join(dir, "config.json"))
				if !reflect.DeepEqual(legacy, fromJSON) {
					t.Errorf("config.legacy.json gives %+v, config.json %+v", legacy, fromJSON)
				}
			} else if !os.IsNotExist(err) {
				t.Error(err)
			}
			// What rft saves, rft loads back bit for bit, and its
			// model.safetensors is byte for byte the one transformers wrote.
			out := filepath.Join(t.TempDir(), name)
			if err := SaveDir(out, p, nil); err != nil {
				t.Fatal(err)
			}
			if _, p2, err := LoadDir(out); err != nil || !bitsEqual32(p2.Data, p.Data) {
				t.Errorf("re-save round trip: %v", err)
			}
			ours, _ := os.ReadFile(filepath.Join(out, "model.safetensors"))
			theirs, _ := os.ReadFile(filepath.Join(dir, "model.safetensors"))
			if !bytes.Equal(ours, theirs) {
				t.Error("model.safetensors written by SaveDir differs from the one transformers wrote")
			}
		})
	}
}
