package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
)

// GenerationConfig is generation_config.json. Absent keys take the defaults
// of transformers' GenerationConfig (temperature 1, top_p 1, top_k 50,
// greedy); absent token ids are -1 (EOS: none).
type GenerationConfig struct {
	BOS          int
	EOS          []int // every id that ends generation; the sampler honours all
	PAD          int
	DoSample     bool
	Temperature  float64
	TopP         float64
	TopK         int
	MaxNewTokens int // 0: unset
}

// DefaultGenerationConfig is the generation config transformers derives from a
// model config: its BOS and EOS ids and the default decoding settings.
func DefaultGenerationConfig(c *Config) *GenerationConfig {
	return &GenerationConfig{BOS: c.BOS, EOS: slices.Clone(c.EOS), PAD: -1, Temperature: 1, TopP: 1, TopK: 50}
}

type hfGenerationJSON struct {
	BOSTokenID   json.RawMessage `json:"bos_token_id"`
	EOSTokenID   json.RawMessage `json:"eos_token_id"`
	PadTokenID   json.RawMessage `json:"pad_token_id"`
	DoSample     *bool           `json:"do_sample"`
	Temperature  *float64        `json:"temperature"`
	TopP         *float64        `json:"top_p"`
	TopK         *int            `json:"top_k"`
	MaxNewTokens *int            `json:"max_new_tokens"`
}

// ReadGenerationConfig reads generation_config.json; a missing file is
// (nil, nil), since the file is optional.
func ReadGenerationConfig(path string) (*GenerationConfig, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	g, err := parseGenerationConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

func parseGenerationConfig(raw []byte) (*GenerationConfig, error) {
	var j hfGenerationJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, hfJSONError(err)
	}
	g := &GenerationConfig{Temperature: 1, TopP: 1, TopK: 50}
	var err error
	if g.BOS, err = hfOptionalInt("bos_token_id", j.BOSTokenID, 0, -1); err != nil {
		return nil, err
	}
	if g.PAD, err = hfOptionalInt("pad_token_id", j.PadTokenID, 0, -1); err != nil {
		return nil, err
	}
	if g.EOS, err = hfIDs("eos_token_id", j.EOSTokenID); err != nil {
		return nil, err
	}
	if j.DoSample != nil {
		g.DoSample = *j.DoSample
	}
	if j.Temperature != nil {
		g.Temperature = *j.Temperature
	}
	if j.TopP != nil {
		g.TopP = *j.TopP
	}
	if j.TopK != nil {
		g.TopK = *j.TopK
	}
	if j.MaxNewTokens != nil {
		g.MaxNewTokens = *j.MaxNewTokens
	}
	switch {
	case g.Temperature < 0:
		return nil, fmt.Errorf("temperature: must not be negative, got %g", g.Temperature)
	case g.TopP < 0 || g.TopP > 1:
		return nil, fmt.Errorf("top_p: must be in [0, 1], got %g", g.TopP)
	case g.TopK < 0:
		return nil, fmt.Errorf("top_k: must not be negative, got %d", g.TopK)
	}
	return g, nil
}

// WriteGenerationConfig writes g as generation_config.json. Like
// transformers, it writes the decoding settings only where they differ from
// the defaults.
func WriteGenerationConfig(path string, g *GenerationConfig) error {
	m := map[string]any{"bos_token_id": hfID(g.BOS), "eos_token_id": hfIDList(g.EOS)}
	if g.PAD >= 0 {
		m["pad_token_id"] = g.PAD
	}
	if g.DoSample {
		m["do_sample"] = true
	}
	if g.Temperature != 1 {
		m["temperature"] = hfFloat(g.Temperature)
	}
	if g.TopP != 1 {
		m["top_p"] = hfFloat(g.TopP)
	}
	if g.TopK != 50 {
		m["top_k"] = g.TopK
	}
	if g.MaxNewTokens > 0 {
		m["max_new_tokens"] = g.MaxNewTokens
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return hfWriteFile(path, append(b, '\n'))
}
