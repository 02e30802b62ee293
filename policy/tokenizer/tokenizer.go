// Package tokenizer is a byte-level BPE tokenizer compatible with Hugging
// Face tokenizer.json files of the GPT-2, Llama-3 and Qwen2 families: it
// produces the same ids as the `tokenizers` library for those layouts
// (golden fixtures in testdata/tokenizer, written by compat/), and trains
// byte-level BPE tokenizers of its own in the Qwen2 layout.
//
// Encoding follows Hugging Face's pipeline: added tokens are split out first
// (those with normalized=false from the raw text, the others after
// normalisation), the remaining text is normalised (NFC etc.), cut into
// pre-tokens by the Split/ByteLevel pre-tokenizers, and each pre-token is
// merged by rank. Decoding concatenates the tokens' bytes; it never skips
// ids it knows and never replaces invalid UTF-8, so a stream of ids decodes
// to exactly the bytes that were encoded.
package tokenizer

import (
	"encoding/json"
	"strings"
)

// Tokenizer is a loaded or trained byte-level BPE tokenizer. It is safe for
// concurrent use.
type Tokenizer struct {
	vocab    map[string]int // byte-level token string → id (the BPE model's vocab)
	rawVocab map[string]int // raw bytes → id, for tokens in the byte-level alphabet
	byteID   [256]int32     // id of each single byte, -1 if the vocab lacks it
	merges   map[uint64]merge
	mergeTab [][2]string // as listed in the file, for Save

	tokens  []string // id → token string ("" for holes)
	decoded []string // id → decoded bytes
	known   []bool

	added        []*addedToken
	addedByText  map[string]*addedToken
	addedByID    map[int]*addedToken
	rawAdded     *matcher // added tokens with normalized=false, matched on the raw text
	normAdded    *matcher // normalized=true, matched after normalisation
	ignoreMerges bool
	unk          int
	fuseUnk      bool

	normalize func(string) string // nil: none
	steps     []preStep
	scan      matchFunc // the steps as one scanner, when they are
	prefix    []int     // post-processor's template around a single sequence
	suffix    []int

	// Components kept verbatim so that Save writes back what Load read.
	raw rawComponents

	cache wordCache
}

// preStep is one pre-tokenizer: an optional leading space, then a split.
type preStep struct {
	prefixSpace bool
	split       splitFunc // nil: the piece passes whole
	match       matchFunc // the hand-written scanner behind split, if any
	byteLevel   bool      // the ByteLevel pre-tokenizer (always the last step)
}

type rawComponents struct {
	truncation, padding, normalizer, preTokenizer, postProcessor, decoder json.RawMessage
	unkToken, dropout                                                     json.RawMessage
}

// Encode returns the ids of text, matching added and special tokens (such as
// "<|im_end|>") where they occur, as Hugging Face's encode(text,
// add_special_tokens=False) does. Use EncodeOrdinary for untrusted text, and
// AddSpecialTokens to apply the post-processor's template (BOS).
func (t *Tokenizer) Encode(text string) []int {
	var ids []int
	t.rawAdded.split(text, func(piece string, tok *addedToken) {
		if tok != nil {
			ids = append(ids, tok.ID)
			return
		}
		if t.normalize != nil {
			piece = t.normalize(piece)
		}
		t.normAdded.split(piece, func(p string, tok *addedToken) {
			if tok != nil {
				ids = append(ids, tok.ID)
				return
			}
			ids = t.encodeNormalized(p, ids)
		})
	})
	return ids
}

// EncodeOrdinary encodes text as plain text: a special token's string in it
// is tokenised like any other characters, so user input cannot forge one.
func (t *Tokenizer) EncodeOrdinary(text string) []int {
	if t.normalize != nil {
		text = t.normalize(text)
	}
	return t.encodeNormalized(text, nil)
}

func (t *Tokenizer) encodeNormalized(text string, ids []int) []int {
	if ids == nil {
		ids = make([]int, 0, len(text)/3+1)
	}
	if t.scan != nil {
		for text != "" {
			n := t.scan(text)
			ids = t.encodePiece(text[:n], ids)
			text = text[n:]
		}
		return ids
	}
	t.preTokenize(0, text, func(piece string) { ids = t.encodePiece(piece, ids) })
	return ids
}

func (t *Tokenizer) encodePiece(piece string, ids []int) []int {
	if cached, ok := t.cache.get(piece); ok {
		return append(ids, cached...)
	}
	n := len(ids)
	ids = t.bpe(piece, ids)
	t.cache.put(strings.Clone(piece), append([]int(nil), ids[n:]...))
	return ids
}

func (t *Tokenizer) preTokenize(k int, s string, emit func(string)) {
	for ; s != "" && k < len(t.steps); k++ {
		st := &t.steps[k]
		if st.prefixSpace && s[0] != ' ' {
			s = " " + s
		}
		if st.split != nil {
			st.split(s, func(p string) { t.preTokenize(k+1, p, emit) })
			return
		}
	}
	if s != "" {
		emit(s)
	}
}

// AddSpecialTokens wraps ids in the post-processor's single-sequence
// template (e.g. Llama-3's <|begin_of_text|>); without a TemplateProcessing
// post-processor it returns ids unchanged.
func (t *Tokenizer) AddSpecialTokens(ids []int) []int {
	if len(t.prefix) == 0 && len(t.suffix) == 0 {
		return ids
	}
	out := make([]int, 0, len(t.prefix)+len(ids)+len(t.suffix))
	out = append(out, t.prefix...)
	out = append(out, ids...)
	return append(out, t.suffix...)
}

// Decode concatenates the bytes of the tokens, as the ByteLevel decoder
// does, except that invalid UTF-8 is returned as is (not replaced by U+FFFD)
// so that pieces of a stream concatenate correctly. Unknown ids are skipped.
func (t *Tokenizer) Decode(ids []int) string {
	n := 0
	for _, id := range ids {
		if id >= 0 && id < len(t.decoded) {
			n += len(t.decoded[id])
		}
	}
	var b strings.Builder
	b.Grow(n)
	for _, id := range ids {
		if id >= 0 && id < len(t.decoded) {
			b.WriteString(t.decoded[id])
		}
	}
	return b.String()
}

// VocabSize is the size of an embedding table that holds every id: the
// largest id, added tokens included, plus one.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// TokenID returns the id of a token string (added tokens by content, model
// tokens in their byte-level spelling, e.g. "Ġthe").
func (t *Tokenizer) TokenID(s string) (int, bool) {
	if a, ok := t.addedByText[s]; ok {
		return a.ID, true
	}
	id, ok := t.vocab[s]
	return id, ok
}

// Token returns the string of an id, in the file's spelling.
func (t *Tokenizer) Token(id int) (string, bool) {
	if id < 0 || id >= len(t.tokens) || !t.known[id] {
		return "", false
	}
	return t.tokens[id], true
}

// SpecialTokens lists the added tokens marked special, in id order.
func (t *Tokenizer) SpecialTokens() []string {
	var out []string
	for _, a := range t.added {
		if a.Special {
			out = append(out, a.Content)
		}
	}
	return out
}
