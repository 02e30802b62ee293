package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
)

// fileJSON is the top level of tokenizer.json.
type fileJSON struct {
	Version       string          `json:"version"`
	Truncation    json.RawMessage `json:"truncation"`
	Padding       json.RawMessage `json:"padding"`
	AddedTokens   []*addedToken   `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         json.RawMessage `json:"model"`
}

type modelJSON struct {
	Type                    *string           `json:"type"`
	Dropout                 json.RawMessage   `json:"dropout"`
	UnkToken                json.RawMessage   `json:"unk_token"`
	ContinuingSubwordPrefix *string           `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string           `json:"end_of_word_suffix"`
	FuseUnk                 bool              `json:"fuse_unk"`
	ByteFallback            bool              `json:"byte_fallback"`
	IgnoreMerges            bool              `json:"ignore_merges"`
	Vocab                   map[string]int    `json:"vocab"`
	Merges                  []json.RawMessage `json:"merges"`
}

// component is the part of every normalizer, pre-tokenizer, post-processor
// and decoder object that says what it is.
type component struct {
	Type string `json:"type"`
}

// Load reads a Hugging Face tokenizer.json with a byte-level BPE model.
// Components rft does not implement are errors naming the file and the JSON
// path, never silently different ids.
func Load(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// lineCol gives the 1-based line and column of the byte encoding/json read
// last when it stopped after off bytes: the offending one.
func lineCol(data []byte, off int64) (int, int) {
	off = min(max(off-1, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

func jsonErr(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		l, c := lineCol(data, syn.Offset)
		return fmt.Errorf("line %d, column %d: invalid JSON: %w", l, c, err)
	case errors.As(err, &typ):
		l, c := lineCol(data, typ.Offset)
		return fmt.Errorf("line %d, column %d: field %s: %s is not a %s", l, c, typ.Field, typ.Value, typ.Type)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

func parse(data []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, jsonErr(data, err)
	}
	t := &Tokenizer{unk: -1, raw: rawComponents{
		truncation: f.Truncation, padding: f.Padding, normalizer: f.Normalizer,
		preTokenizer: f.PreTokenizer, postProcessor: f.PostProcessor, decoder: f.Decoder,
	}}
	if isNull(f.Model) {
		return nil, errors.New("model: missing")
	}
	var m modelJSON
	if err := json.Unmarshal(f.Model, &m); err != nil {
		return nil, fmt.Errorf("model: %w", jsonErr(f.Model, err))
	}
	if err := t.setModel(&m); err != nil {
		return nil, err
	}
	if err := t.setAdded(f.AddedTokens); err != nil {
		return nil, err
	}
	var err error
	if t.normalize, err = parseNormalizer(f.Normalizer, "normalizer"); err != nil {
		return nil, err
	}
	if err := t.setPreTokenizer(f.PreTokenizer); err != nil {
		return nil, err
	}
	if err := checkDecoder(f.Decoder); err != nil {
		return nil, err
	}
	if err := t.setPostProcessor(f.PostProcessor, "post_processor"); err != nil {
		return nil, err
	}
	t.rawAdded = newMatcher(t.added, func(a *addedToken) string {
		if a.Normalized {
			return ""
		}
		return a.Content
	})
	t.normAdded = newMatcher(t.added, func(a *addedToken) string {
		if !a.Normalized {
			return ""
		}
		if t.normalize != nil {
			return t.normalize(a.Content)
		}
		return a.Content
	})
	return t, nil
}

func isNull(r json.RawMessage) bool {
	return len(bytes.TrimSpace(r)) == 0 || string(bytes.TrimSpace(r)) == "null"
}

func unsupported(path, what string) error {
	return fmt.Errorf("%s: %q is not supported", path, what)
}

func (t *Tokenizer) setModel(m *modelJSON) error {
	if m.Type != nil && *m.Type != "BPE" {
		return unsupported("model.type", *m.Type)
	}
	if !isNull(m.Dropout) && string(m.Dropout) != "0" && string(m.Dropout) != "0.0" {
		return fmt.Errorf("model.dropout: %s is not supported (BPE dropout makes encoding random)", m.Dropout)
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" {
		return unsupported("model.continuing_subword_prefix", *m.ContinuingSubwordPrefix)
	}
	if m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return unsupported("model.end_of_word_suffix", *m.EndOfWordSuffix)
	}
	if m.ByteFallback {
		return errors.New("model.byte_fallback: true is not supported (byte-level BPE needs no byte fallback)")
	}
	if m.Vocab == nil {
		return errors.New("model.vocab: missing")
	}
	t.raw.dropout, t.raw.unkToken = m.Dropout, m.UnkToken
	t.ignoreMerges, t.fuseUnk = m.IgnoreMerges, m.FuseUnk
	t.vocab = m.Vocab
	maxID := -1
	byID := map[int]string{}
	for tok, id := range m.Vocab {
		if id < 0 {
			return fmt.Errorf("model.vocab: token %q has negative id %d", tok, id)
		}
		if other, dup := byID[id]; dup {
			a, b := min(tok, other), max(tok, other)
			return fmt.Errorf("model.vocab: duplicate id %d (tokens %q and %q)", id, a, b)
		}
		byID[id] = tok
		maxID = max(maxID, id)
	}
	t.grow(maxID + 1)
	t.rawVocab = make(map[string]int, len(m.Vocab))
	for id, tok := range byID {
		raw, ok := rawBytes(tok)
		t.tokens[id], t.decoded[id], t.known[id] = tok, raw, true
		if ok {
			t.rawVocab[raw] = id
		}
	}
	for b := range 256 {
		t.byteID[b] = -1
		if id, ok := m.Vocab[string(byteToRune[b])]; ok {
			t.byteID[b] = int32(id)
		}
	}
	if !isNull(m.UnkToken) {
		var unk string
		if err := json.Unmarshal(m.UnkToken, &unk); err != nil {
			return fmt.Errorf("model.unk_token: %s is not a string", m.UnkToken)
		}
		id, ok := m.Vocab[unk]
		if !ok {
			return fmt.Errorf("model.unk_token: %q is not in model.vocab", unk)
		}
		t.unk = id
	}
	t.merges = make(map[uint64]merge, len(m.Merges))
	t.mergeTab = make([][2]string, len(m.Merges))
	for i, raw := range m.Merges {
		path := fmt.Sprintf("model.merges[%d]", i)
		var pair [2]string
		var s string
		var arr []string
		switch {
		case json.Unmarshal(raw, &s) == nil:
			parts := strings.Split(s, " ")
			if len(parts) != 2 {
				return fmt.Errorf("%s: %q is not two tokens separated by one space", path, s)
			}
			pair = [2]string{parts[0], parts[1]}
		case json.Unmarshal(raw, &arr) == nil && len(arr) == 2:
			pair = [2]string{arr[0], arr[1]}
		default:
			return fmt.Errorf("%s: %s is neither \"a b\" nor [\"a\", \"b\"]", path, raw)
		}
		a, okA := m.Vocab[pair[0]]
		b, okB := m.Vocab[pair[1]]
		c, okC := m.Vocab[pair[0]+pair[1]]
		switch {
		case !okA:
			return fmt.Errorf("%s: token %q is not in model.vocab", path, pair[0])
		case !okB:
			return fmt.Errorf("%s: token %q is not in model.vocab", path, pair[1])
		case !okC:
			return fmt.Errorf("%s: merged token %q is not in model.vocab", path, pair[0]+pair[1])
		}
		// A repeated pair takes its last rank, as Hugging Face's HashMap collect does.
		t.merges[pairKey(int32(a), int32(b))] = merge{rank: int32(i), id: int32(c)}
		t.mergeTab[i] = pair
	}
	return nil
}

func (t *Tokenizer) grow(n int) {
	for len(t.tokens) < n {
		t.tokens = append(t.tokens, "")
		t.decoded = append(t.decoded, "")
		t.known = append(t.known, false)
	}
}

func (t *Tokenizer) setAdded(added []*addedToken) error {
	t.addedByText = map[string]*addedToken{}
	t.addedByID = map[int]*addedToken{}
	for i, a := range added {
		path := fmt.Sprintf("added_tokens[%d]", i)
		switch {
		case a == nil:
			return fmt.Errorf("%s: null", path)
		case a.Content == "":
			return fmt.Errorf("%s: empty content", path)
		case a.ID < 0:
			return fmt.Errorf("%s: negative id %d", path, a.ID)
		}
		if o, dup := t.addedByID[a.ID]; dup {
			return fmt.Errorf("%s: duplicate id %d (%q and %q)", path, a.ID, o.Content, a.Content)
		}
		if o, dup := t.addedByText[a.Content]; dup {
			return fmt.Errorf("%s: %q is listed twice (ids %d and %d)", path, a.Content, o.ID, a.ID)
		}
		if a.ID < len(t.known) && t.known[a.ID] && t.tokens[a.ID] != a.Content {
			return fmt.Errorf("%s: duplicate id %d (%q here, %q in model.vocab)", path, a.ID, a.Content, t.tokens[a.ID])
		}
		t.addedByID[a.ID], t.addedByText[a.Content] = a, a
		t.added = append(t.added, a)
		t.grow(a.ID + 1)
		raw, _ := rawBytes(a.Content)
		t.tokens[a.ID], t.decoded[a.ID], t.known[a.ID] = a.Content, raw, true
	}
	sort.SliceStable(t.added, func(i, j int) bool { return t.added[i].ID < t.added[j].ID })
	return nil
}
