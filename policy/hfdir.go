package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/rft-dev/rft/internal/atomicfile"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rft-dev/rft/policy/safetensors"
)

// File names of a Hugging Face checkpoint directory.
const (
	hfConfigFile     = "config.json"
	hfGenerationFile = "generation_config.json"
	hfWeightsFile    = "model.safetensors"
	hfIndexFile      = "model.safetensors.index.json"
)

// TokenizerFiles are the files CopyTokenizerFiles carries from one checkpoint
// directory to the next.
var TokenizerFiles = []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"}

// LoadDir loads a Hugging Face checkpoint directory: config.json, the weights
// (model.safetensors, or the shards that model.safetensors.index.json lists)
// and, when present, generation_config.json, whose EOS ids join the config's
// (config.json's first). Every tensor of Layout must be present with exactly
// its shape, in F32, F16, BF16 or F64 (converted to float32). A tied model may
// also store lm_head.weight (it is ignored) and RoPE inv_freq buffers are
// ignored; any other tensor is an error, since it means the directory holds
// another architecture than config.json names.
func LoadDir(dir string) (*Config, *Params[float32], error) {
	c, _, err := readDirConfig(dir)
	if err != nil {
		return nil, nil, err
	}
	p := NewParams[float32](c)
	byName := map[string]Tensor{}
	for _, t := range p.Tensors {
		byName[t.Name] = t
	}
	err = scanWeights(dir, c, true, func(path string, st *safetensors.Tensor) error {
		t := byName[st.Name]
		if err := st.Float32sInto(p.Data[t.Offset : t.Offset+t.Size]); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return c, p, nil
}

// readDirConfig reads config.json and generation_config.json of dir and
// merges the latter's token ids into the config.
func readDirConfig(dir string) (*Config, *GenerationConfig, error) {
	c, err := ReadHFConfig(filepath.Join(dir, hfConfigFile))
	if err != nil {
		return nil, nil, err
	}
	genPath := filepath.Join(dir, hfGenerationFile)
	gen, err := ReadGenerationConfig(genPath)
	if err != nil {
		return nil, nil, err
	}
	if gen != nil {
		for _, id := range gen.EOS {
			if !slices.Contains(c.EOS, id) {
				c.EOS = append(c.EOS, id)
			}
		}
		if c.BOS < 0 && gen.BOS >= 0 {
			c.BOS = gen.BOS
		}
		if err := c.Validate(); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", genPath, err)
		}
	}
	return c, gen, nil
}

// scanWeights reads the weight files of dir (with data, or only their
// headers), checks every tensor against Layout(c) and calls use for each
// tensor of the layout. Shards are read one at a time.
func scanWeights(dir string, c *Config, withData bool, use func(path string, t *safetensors.Tensor) error) error {
	files, weightMap, source, err := weightFiles(dir)
	if err != nil {
		return err
	}
	want := map[string]Tensor{}
	for _, t := range Layout(c) {
		want[t.Name] = t
	}
	seen := map[string]string{} // tensor name → path of its file
	for _, name := range files {
		path := filepath.Join(dir, name)
		read := safetensors.ReadHeader
		if withData {
			read = safetensors.Read
		}
		f, err := read(path)
		if err != nil {
			return err
		}
		for _, tn := range f.Names {
			st := f.Tensors[tn]
			if shard, listed := weightMap[tn]; weightMap != nil && shard != name {
				if !listed {
					return fmt.Errorf("%s: tensor %s: not listed in %s", path, tn, hfIndexFile)
				}
				return fmt.Errorf("%s: tensor %s: %s places it in %s", path, tn, hfIndexFile, shard)
			}
			if prev, dup := seen[tn]; dup {
				return fmt.Errorf("%s: tensor %s: also stored in %s", path, tn, prev)
			}
			seen[tn] = path
			lt, ok := want[tn]
			switch {
			case ok:
			case strings.HasSuffix(tn, "rotary_emb.inv_freq"):
				continue // a buffer older transformers saved; RoPE is computed
			case tn == "lm_head.weight" && c.TieEmbeddings:
				// transformers sometimes stores the tied head; it must at least
				// have the embedding's shape.
				if s := []int{c.VocabSize, c.Hidden}; !slices.Equal(st.Shape, s) {
					return fmt.Errorf("%s: tensor %s: shape %v, want %v (tied to model.embed_tokens.weight)", path, tn, st.Shape, s)
				}
				continue
			default:
				return fmt.Errorf("%s: unexpected tensor %s: %s with this config.json has no such tensor (wrong architecture?)", path, tn, c.Architecture)
			}
			if !slices.Equal(st.Shape, lt.Shape) {
				return fmt.Errorf("%s: tensor %s: shape %v, want %v", path, tn, st.Shape, lt.Shape)
			}
			if !safetensors.IsFloat(st.DType) {
				return fmt.Errorf("%s: tensor %s: dtype %s is not a float type", path, tn, st.DType)
			}
			if err := use(path, st); err != nil {
				return err
			}
		}
	}
	for _, t := range Layout(c) {
		if _, ok := seen[t.Name]; !ok {
			return fmt.Errorf("%s: missing tensor %s", source, t.Name)
		}
	}
	for tn, file := range weightMap {
		if _, ok := seen[tn]; !ok {
			return fmt.Errorf("%s: weight_map places tensor %s in %s, which lacks it", source, tn, file)
		}
	}
	return nil
}

// weightFiles lists the safetensors files of dir: model.safetensors, or else
// the shards of model.safetensors.index.json with its weight map. source is
// the path that missing-tensor errors name.
func weightFiles(dir string) (files []string, weightMap map[string]string, source string, err error) {
	single := filepath.Join(dir, hfWeightsFile)
	if _, err := os.Stat(single); err == nil {
		return []string{hfWeightsFile}, nil, single, nil
	}
	index := filepath.Join(dir, hfIndexFile)
	raw, err := os.ReadFile(index)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, "", fmt.Errorf("%s: no %s or %s", dir, hfWeightsFile, hfIndexFile)
	}
	if err != nil {
		return nil, nil, "", err
	}
	var j struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, nil, "", fmt.Errorf("%s: %w", index, hfJSONError(err))
	}
	if len(j.WeightMap) == 0 {
		return nil, nil, "", fmt.Errorf("%s: weight_map: missing or empty", index)
	}
	for tn, f := range j.WeightMap {
		// A shard name is a plain file name in dir, never a path out of it.
		if f == "" || f != filepath.Base(f) || f == "." || f == ".." {
			return nil, nil, "", fmt.Errorf("%s: weight_map: tensor %s: shard %q is not a file name in the directory", index, tn, f)
		}
		if !slices.Contains(files, f) {
			files = append(files, f)
		}
	}
	slices.Sort(files)
	return files, j.WeightMap, index, nil
}

// SaveDir writes p as a Hugging Face checkpoint directory: config.json,
// model.safetensors (F32, HF names, metadata {"format": "pt"} as transformers
// writes) and generation_config.json (DefaultGenerationConfig when gen is
// nil). It replaces dir as a whole: other files in an existing dir do not
// survive (CopyTokenizerFiles carries the tokenizer over).
//
// The new directory is written and fsynced as a sibling dir.tmp-XXXX, then
// renamed into place; an existing dir is first renamed to dir.old-XXXX and
// removed once the new one is in place. On error nothing new is left at dir,
// an existing dir is kept, and no temporary directory remains. A crash
// between the two renames leaves the old checkpoint at dir.old-XXXX.
func SaveDir(dir string, p *Params[float32], gen *GenerationConfig) (err error) {
	if err := checkSavable(p); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	c := p.Config
	if gen == nil {
		gen = DefaultGenerationConfig(c)
	}
	dir = filepath.Clean(dir)
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	if st, err := os.Lstat(dir); err == nil && !st.IsDir() {
		return fmt.Errorf("save %s: exists and is not a directory", dir)
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, base+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err = os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err = WriteHFConfig(filepath.Join(tmp, hfConfigFile), c); err != nil {
		return err
	}
	var ts []*safetensors.Tensor
	for _, t := range Layout(c) {
		ts = append(ts, safetensors.F32Tensor(t.Name, t.Shape, p.Data[t.Offset:t.Offset+t.Size]))
	}
	if err = safetensors.Write(filepath.Join(tmp, hfWeightsFile), ts, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if err = WriteGenerationConfig(filepath.Join(tmp, hfGenerationFile), gen); err != nil {
		return err
	}
	return replaceDir(tmp, dir)
}

// checkSavable reports a Params that SaveDir would write wrongly, before
// anything is written.
func checkSavable(p *Params[float32]) error {
	if p == nil || p.Config == nil {
		return errors.New("no parameters or no config")
	}
	if err := p.Config.Validate(); err != nil {
		return err
	}
	if err := hfCompatible(p.Config); err != nil {
		return err
	}
	if n := p.Config.ParamCount(); len(p.Data) != n {
		return fmt.Errorf("parameter buffer holds %d values, the config's layout %d", len(p.Data), n)
	}
	return nil
}

// replaceDir renames the complete directory tmp to dir, moving an existing
// dir out of the way first and removing it afterwards.
func replaceDir(tmp, dir string) error {
	parent := filepath.Dir(dir)
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(tmp, dir); err != nil {
			return err
		}
		return atomicfile.SyncDir(parent)
	}
	// MkdirTemp picks an unused name; os.Rename refuses to replace a
	// directory, so the placeholder goes before dir takes its name.
	old, err := os.MkdirTemp(parent, filepath.Base(dir)+".old-")
	if err != nil {
		return err
	}
	if err := os.Remove(old); err != nil {
		return err
	}
	if err := os.Rename(dir, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if rerr := os.Rename(old, dir); rerr != nil {
			return fmt.Errorf("%w (and restoring %s from %s failed: %v)", err, dir, old, rerr)
		}
		return err
	}
	if err := atomicfile.SyncDir(parent); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

// CopyTokenizerFiles copies those of TokenizerFiles that exist in src to dst
// (atomically each), so a new checkpoint keeps its tokenizer.
func CopyTokenizerFiles(src, dst string) error {
	for _, name := range TokenizerFiles {
		f, err := os.Open(filepath.Join(src, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		err = hfWriteFileFrom(filepath.Join(dst, name), f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// ModelInfo describes a checkpoint directory for `rft model show`.
type ModelInfo struct {
	Architecture   string
	Params         int    // stored parameters (a tied head counts once)
	DType          string // dtypes of the weights, e.g. "F32" or "BF16,F32"
	Config         *Config
	Generation     *GenerationConfig // nil without generation_config.json
	Files          []string          // every file in the directory, sorted
	TokenizerFile  string            // path of tokenizer.json, "" when absent
	TokenizerModel string            // e.g. "BPE"
	TokenizerVocab int               // distinct ids of model.vocab and added_tokens
}

// Inspect describes a checkpoint directory from config.json, the safetensors
// headers (checked against the layout as LoadDir does) and tokenizer.json,
// without loading the weights.
func Inspect(dir string) (*ModelInfo, error) {
	c, gen, err := readDirConfig(dir)
	if err != nil {
		return nil, err
	}
	info := &ModelInfo{Architecture: c.Architecture, Config: c, Generation: gen}
	dtypes := map[string]bool{}
	err = scanWeights(dir, c, false, func(_ string, t *safetensors.Tensor) error {
		info.Params += t.Elements()
		dtypes[t.DType] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	info.DType = strings.Join(slices.Sorted(maps.Keys(dtypes)), ",")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			info.Files = append(info.Files, e.Name())
		}
	}
	tokPath := filepath.Join(dir, "tokenizer.json")
	if _, err := os.Stat(tokPath); err == nil {
		info.TokenizerFile = tokPath
		if info.TokenizerModel, info.TokenizerVocab, err = tokenizerSummary(tokPath); err != nil {
			return nil, err
		}
	}
	return info, nil
}

// tokenizerSummary reads the model type and the number of distinct token ids
// of a Hugging Face tokenizer.json. model.vocab is an object (BPE, WordPiece,
// WordLevel) or a list of [piece, score] pairs (Unigram, where the id is the
// index).
func tokenizerSummary(path string) (string, int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", 0, err
	}
	var j struct {
		Model struct {
			Type  string          `json:"type"`
			Vocab json.RawMessage `json:"vocab"`
		} `json:"model"`
		AddedTokens []struct {
			ID int `json:"id"`
		} `json:"added_tokens"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return "", 0, fmt.Errorf("%s: %w", path, hfJSONError(err))
	}
	ids := map[int]bool{}
	var byPiece map[string]int
	var pieces []json.RawMessage
	switch {
	case len(j.Model.Vocab) == 0:
	case json.Unmarshal(j.Model.Vocab, &byPiece) == nil:
		for _, id := range byPiece {
			ids[id] = true
		}
	case json.Unmarshal(j.Model.Vocab, &pieces) == nil:
		for i := range pieces {
			ids[i] = true
		}
	default:
		return "", 0, fmt.Errorf("%s: model.vocab: neither an object nor a list", path)
	}
	for _, t := range j.AddedTokens {
		ids[t.ID] = true
	}
	return j.Model.Type, len(ids), nil
}
