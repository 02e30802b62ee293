package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/text/unicode/norm"
)

// The pipeline components of tokenizer.json around the BPE model:
// normalizer, pre-tokenizer, post-processor and decoder.

func parseNormalizer(raw json.RawMessage, path string) (func(string) string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var c struct {
		Type        string            `json:"type"`
		Normalizers []json.RawMessage `json:"normalizers"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch c.Type {
	case "NFC":
		return norm.NFC.String, nil
	case "NFD":
		return norm.NFD.String, nil
	case "NFKC":
		return norm.NFKC.String, nil
	case "NFKD":
		return norm.NFKD.String, nil
	case "Sequence":
		var fs []func(string) string
		for i, r := range c.Normalizers {
			f, err := parseNormalizer(r, fmt.Sprintf("%s.normalizers[%d]", path, i))
			if err != nil {
				return nil, err
			}
			if f != nil {
				fs = append(fs, f)
			}
		}
		if len(fs) == 0 {
			return nil, nil
		}
		return func(s string) string {
			for _, f := range fs {
				s = f(s)
			}
			return s
		}, nil
	}
	return nil, unsupported(path+".type", c.Type)
}

type preTokenizerJSON struct {
	Type           string            `json:"type"`
	AddPrefixSpace bool              `json:"add_prefix_space"`
	UseRegex       *bool             `json:"use_regex"`
	Pattern        map[string]string `json:"pattern"`
	Behavior       string            `json:"behavior"`
	Invert         bool              `json:"invert"`
	PreTokenizers  []json.RawMessage `json:"pretokenizers"`
}

func (t *Tokenizer) setPreTokenizer(raw json.RawMessage) error {
	if isNull(raw) {
		return errors.New("pre_tokenizer: null is not supported (a byte-level BPE needs the ByteLevel pre-tokenizer)")
	}
	return t.addPreTokenizer(raw, "pre_tokenizer")
}

// addPreTokenizer appends the steps of one pre-tokenizer. ByteLevel must be
// the last step: rft works on raw bytes throughout and maps them to the
// byte-level alphabet only inside the BPE model, which is the same thing
// when nothing runs after ByteLevel.
func (t *Tokenizer) addPreTokenizer(raw json.RawMessage, path string) error {
	var p preTokenizerJSON
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(t.steps) > 0 && t.steps[len(t.steps)-1].byteLevel {
		return fmt.Errorf("%s: a pre-tokenizer after ByteLevel is not supported", path)
	}
	switch p.Type {
	case "ByteLevel":
		st := preStep{prefixSpace: p.AddPrefixSpace, byteLevel: true}
		if p.UseRegex == nil || *p.UseRegex {
			st.split, st.match = scanWith(gpt2Match), gpt2Match
		}
		t.steps = append(t.steps, st)
	case "Split":
		if p.Behavior != "Isolated" {
			return unsupported(path+".behavior", p.Behavior)
		}
		if p.Invert {
			return fmt.Errorf("%s.invert: true is not supported", path)
		}
		var split splitFunc
		match := scanners[p.Pattern["Regex"]]
		if re, ok := p.Pattern["Regex"]; ok {
			var err error
			if split, err = splitterFor(re); err != nil {
				return fmt.Errorf("%s.pattern.Regex: %w", path, err)
			}
		} else if lit, ok := p.Pattern["String"]; ok {
			split = literalSplitter(lit)
		} else {
			return fmt.Errorf("%s.pattern: want {\"Regex\": ...} or {\"String\": ...}", path)
		}
		t.steps = append(t.steps, preStep{split: split, match: match})
	case "Sequence":
		for i, r := range p.PreTokenizers {
			if err := t.addPreTokenizer(r, fmt.Sprintf("%s.pretokenizers[%d]", path, i)); err != nil {
				return err
			}
		}
	default:
		return unsupported(path+".type", p.Type)
	}
	if path == "pre_tokenizer" {
		if len(t.steps) == 0 || !t.steps[len(t.steps)-1].byteLevel {
			return errors.New("pre_tokenizer: the last pre-tokenizer must be ByteLevel (only byte-level BPE is supported)")
		}
		t.scan = singleScanner(t.steps)
	}
	return nil
}

func checkDecoder(raw json.RawMessage) error {
	if isNull(raw) {
		return errors.New("decoder: null is not supported (a byte-level BPE needs the ByteLevel decoder)")
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("decoder: %w", err)
	}
	if c.Type != "ByteLevel" {
		return unsupported("decoder.type", c.Type)
	}
	return nil
}

type templateJSON struct {
	Type          string            `json:"type"`
	Processors    []json.RawMessage `json:"processors"`
	Single        []json.RawMessage `json:"single"`
	SpecialTokens map[string]struct {
		IDs []int `json:"ids"`
	} `json:"special_tokens"`
}

// setPostProcessor reads the single-sequence template of TemplateProcessing
// (ids around sequence A); ByteLevel only trims offsets, which rft does not
// report, so it changes nothing here.
func (t *Tokenizer) setPostProcessor(raw json.RawMessage, path string) error {
	if isNull(raw) {
		return nil
	}
	var p templateJSON
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	switch p.Type {
	case "ByteLevel":
		return nil
	case "Sequence":
		for i, r := range p.Processors {
			if err := t.setPostProcessor(r, fmt.Sprintf("%s.processors[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case "TemplateProcessing":
		seen := false
		for i, r := range p.Single {
			var piece struct {
				SpecialToken *struct{ ID string } `json:"SpecialToken"`
				Sequence     *struct{ ID string } `json:"Sequence"`
			}
			ipath := fmt.Sprintf("%s.single[%d]", path, i)
			if err := json.Unmarshal(r, &piece); err != nil {
				return fmt.Errorf("%s: %w", ipath, err)
			}
			switch {
			case piece.Sequence != nil:
				if piece.Sequence.ID != "A" {
					return fmt.Errorf("%s.Sequence.id: %q in a single-sequence template", ipath, piece.Sequence.ID)
				}
				seen = true
			case piece.SpecialToken != nil:
				st, ok := p.SpecialTokens[piece.SpecialToken.ID]
				if !ok {
					return fmt.Errorf("%s.SpecialToken.id: %q is not in %s.special_tokens", ipath, piece.SpecialToken.ID, path)
				}
				if seen {
					t.suffix = append(t.suffix, st.IDs...)
				} else {
					t.prefix = append(t.prefix, st.IDs...)
				}
			default:
				return fmt.Errorf("%s: want SpecialToken or Sequence", ipath)
			}
		}
		return nil
	}
	return unsupported(path+".type", p.Type)
}

// singleScanner returns the one hand-written scanner that the steps amount
// to, when they do (the GPT-2, Llama-3 and Qwen2 layouts): Encode then runs
// it in a plain loop.
func singleScanner(steps []preStep) matchFunc {
	var m matchFunc
	for _, s := range steps {
		switch {
		case s.prefixSpace:
			return nil
		case s.split == nil:
		case s.match == nil || m != nil:
			return nil
		default:
			m = s.match
		}
	}
	return m
}
