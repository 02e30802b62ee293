package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/rft-dev/rft/internal/atomicfile"
)

// Save writes the tokenizer as a Hugging Face tokenizer.json (merges in the
// pair form that tokenizers ≥ 0.20 writes), atomically.
func (t *Tokenizer) Save(path string) error {
	data, err := t.MarshalJSON()
	if err != nil {
		return fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, data, 0o644)
}

// MarshalJSON returns the tokenizer.json document, components that Load read
// written back verbatim (re-indented), the vocab in id order.
func (t *Tokenizer) MarshalJSON() ([]byte, error) {
	orNull := func(r json.RawMessage) json.RawMessage {
		if isNull(r) {
			return json.RawMessage("null")
		}
		return r
	}
	vocab := make([]string, 0, len(t.vocab))
	for id, tok := range t.tokens {
		if _, isModel := t.vocab[tok]; t.known[id] && isModel && t.vocab[tok] == id {
			vocab = append(vocab, tok)
		}
	}
	var vb bytes.Buffer
	vb.WriteByte('{')
	for i, tok := range vocab {
		if i > 0 {
			vb.WriteByte(',')
		}
		vb.Write(quote(tok))
		fmt.Fprintf(&vb, ":%d", t.vocab[tok])
	}
	vb.WriteByte('}')
	var mb bytes.Buffer
	mb.WriteByte('[')
	for i, m := range t.mergeTab {
		if i > 0 {
			mb.WriteByte(',')
		}
		mb.WriteByte('[')
		mb.Write(quote(m[0]))
		mb.WriteByte(',')
		mb.Write(quote(m[1]))
		mb.WriteByte(']')
	}
	mb.WriteByte(']')
	doc := struct {
		Version       string          `json:"version"`
		Truncation    json.RawMessage `json:"truncation"`
		Padding       json.RawMessage `json:"padding"`
		AddedTokens   []*addedToken   `json:"added_tokens"`
		Normalizer    json.RawMessage `json:"normalizer"`
		PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
		PostProcessor json.RawMessage `json:"post_processor"`
		Decoder       json.RawMessage `json:"decoder"`
		Model         any             `json:"model"`
	}{
		Version: "1.0", Truncation: orNull(t.raw.truncation), Padding: orNull(t.raw.padding),
		AddedTokens: t.added, Normalizer: orNull(t.raw.normalizer), PreTokenizer: orNull(t.raw.preTokenizer),
		PostProcessor: orNull(t.raw.postProcessor), Decoder: orNull(t.raw.decoder),
		Model: struct {
			Type                    string          `json:"type"`
			Dropout                 json.RawMessage `json:"dropout"`
			UnkToken                json.RawMessage `json:"unk_token"`
			ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
			EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
			FuseUnk                 bool            `json:"fuse_unk"`
			ByteFallback            bool            `json:"byte_fallback"`
			IgnoreMerges            bool            `json:"ignore_merges"`
			Vocab                   json.RawMessage `json:"vocab"`
			Merges                  json.RawMessage `json:"merges"`
		}{"BPE", orNull(t.raw.dropout), orNull(t.raw.unkToken), nil, nil, t.fuseUnk, false, t.ignoreMerges, vb.Bytes(), mb.Bytes()},
	}
	if doc.AddedTokens == nil {
		doc.AddedTokens = []*addedToken{}
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// quote is a JSON string without HTML escaping ("<|im_end|>" stays readable).
func quote(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return bytes.TrimRight(b.Bytes(), "\n")
}
