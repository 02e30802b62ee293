package tokenizer

import (
	"bytes"
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// DefaultSpecials are the special tokens rft's own tokenizers carry, in id
// order after the merges: the end-of-document token and the markers of the
// plain chat template (see Plain).
var DefaultSpecials = []string{"<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"}

// minPairCount is the smallest pair count Train merges: a pair seen once is
// memorisation, so training stops there even below vocabSize.
const minPairCount = 2

// Train learns a byte-level BPE tokenizer from a corpus, in the Qwen2 layout:
// no normalizer (so decode(encode(s)) == s for every string), the Qwen2
// Split pattern (single digits) then ByteLevel without regex, the 256 byte
// tokens as ids 0–255 in GPT-2's order, one token per merge, then specials
// as added tokens. vocabSize counts all of them. Occurrences of the specials
// in the corpus are cut out before counting.
//
// Training is deterministic: each step merges the most frequent adjacent pair
// over all pre-tokens; ties go to the pair whose left token's bytes are
// smallest (bytewise), then whose right token's bytes are smallest. Training
// stops at vocabSize or when no pair occurs twice.
func Train(corpus io.Reader, vocabSize int, specials []string) (*Tokenizer, error) {
	seen := map[string]bool{}
	for _, s := range specials {
		if s == "" || seen[s] {
			return nil, fmt.Errorf("tokenizer: train: special token %q is empty or repeated", s)
		}
		seen[s] = true
	}
	if vocabSize < 256+len(specials) {
		return nil, fmt.Errorf("tokenizer: train: vocab size %d is below the 256 byte tokens plus %d specials", vocabSize, len(specials))
	}
	data, err := io.ReadAll(corpus)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: train: %w", err)
	}
	counts := map[string]int{}
	split := scanWith(func(s string) int { return llamaMatch(s, 1) })
	var sm *matcher
	if len(specials) > 0 {
		toks := make([]*addedToken, len(specials))
		for i, s := range specials {
			toks[i] = &addedToken{Content: s}
		}
		sm = newMatcher(toks, func(a *addedToken) string { return a.Content })
	}
	sm.split(string(data), func(piece string, tok *addedToken) {
		if tok == nil {
			split(piece, func(w string) { counts[w]++ })
		}
	})
	if len(counts) == 0 {
		return nil, errors.New("tokenizer: train: empty corpus")
	}
	merges := learnMerges(counts, vocabSize-len(specials))
	return buildTrained(merges, specials)
}

// trainWord is a distinct pre-token: its symbols and how often it occurs.
type trainWord struct {
	syms  []int32
	count int
}

type pairCount struct {
	pair  uint64
	count int
}

// pairHeap orders pairs by count, then by the documented byte order.
type pairHeap struct {
	items []pairCount
	bytes [][]byte // token id → raw bytes
}

func (h *pairHeap) Len() int { return len(h.items) }
func (h *pairHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	if a.count != b.count {
		return a.count > b.count
	}
	if c := bytes.Compare(h.bytes[a.pair>>32], h.bytes[b.pair>>32]); c != 0 {
		return c < 0
	}
	return bytes.Compare(h.bytes[uint32(a.pair)], h.bytes[uint32(b.pair)]) < 0
}
func (h *pairHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *pairHeap) Push(x any)    { h.items = append(h.items, x.(pairCount)) }
func (h *pairHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

// learnMerges returns the merges, as pairs of raw byte strings, that grow a
// 256-byte vocabulary towards target tokens.
func learnMerges(counts map[string]int, target int) [][2]string {
	keys := make([]string, 0, len(counts))
	for w := range counts {
		keys = append(keys, w)
	}
	// Word order only affects bookkeeping, never the result, but keep it fixed.
	slices.Sort(keys)
	var byteRank [256]int32
	for i, b := range byteOrder {
		byteRank[b] = int32(i)
	}
	h := &pairHeap{}
	for _, b := range byteOrder {
		h.bytes = append(h.bytes, []byte{b})
	}
	ids := map[string]int32{}
	for i, b := range h.bytes {
		ids[string(b)] = int32(i)
	}
	words := make([]trainWord, len(keys))
	pairs := map[uint64]int{}
	where := map[uint64][]int32{}
	for wi, k := range keys {
		w := trainWord{count: counts[k], syms: make([]int32, len(k))}
		for i := 0; i < len(k); i++ {
			w.syms[i] = byteRank[k[i]]
		}
		for i := 0; i+1 < len(w.syms); i++ {
			p := pairKey(w.syms[i], w.syms[i+1])
			pairs[p] += w.count
			where[p] = append(where[p], int32(wi))
		}
		words[wi] = w
	}
	for p, c := range pairs {
		h.items = append(h.items, pairCount{p, c})
	}
	heap.Init(h)
	var merges [][2]string
	stamp := make([]int, len(words))
	for step := 1; len(h.bytes) < target && h.Len() > 0; step++ {
		top := heap.Pop(h).(pairCount)
		if cur := pairs[top.pair]; cur != top.count {
			if cur > 0 {
				heap.Push(h, pairCount{top.pair, cur})
			}
			continue
		}
		if top.count < minPairCount {
			break
		}
		a, b := int32(top.pair>>32), int32(uint32(top.pair))
		merged := append(append([]byte(nil), h.bytes[a]...), h.bytes[b]...)
		merges = append(merges, [2]string{string(h.bytes[a]), string(h.bytes[b])})
		id, ok := ids[string(merged)]
		if !ok {
			id = int32(len(h.bytes))
			h.bytes = append(h.bytes, merged)
			ids[string(merged)] = id
		}
		changed := map[uint64]bool{}
		for _, wi := range where[top.pair] {
			if stamp[wi] == step {
				continue
			}
			stamp[wi] = step
			w := &words[wi]
			syms := w.syms
			for i := 0; i+1 < len(syms); i++ {
				p := pairKey(syms[i], syms[i+1])
				pairs[p] -= w.count
				changed[p] = true
			}
			out := syms[:0]
			for i := 0; i < len(syms); i++ {
				if i+1 < len(syms) && syms[i] == a && syms[i+1] == b {
					out = append(out, id)
					i++
				} else {
					out = append(out, syms[i])
				}
			}
			w.syms = out
			for i := 0; i+1 < len(out); i++ {
				p := pairKey(out[i], out[i+1])
				if out[i] == id || out[i+1] == id { // a pair new to this word
					where[p] = append(where[p], wi)
				}
				pairs[p] += w.count
				changed[p] = true
			}
		}
		delete(where, top.pair)
		for p := range changed {
			if pairs[p] <= 0 {
				delete(pairs, p)
				continue
			}
			if p>>32 == uint64(id) || uint32(p) == uint32(id) {
				heap.Push(h, pairCount{p, pairs[p]})
			}
		}
	}
	return merges
}

// buildTrained writes the tokenizer.json document of a trained tokenizer and
// parses it, so that a trained tokenizer and its saved file cannot differ.
func buildTrained(merges [][2]string, specials []string) (*Tokenizer, error) {
	var vb bytes.Buffer
	vb.WriteByte('{')
	next := 0
	ids := map[string]bool{}
	add := func(raw string) {
		if ids[raw] {
			return
		}
		ids[raw] = true
		if next > 0 {
			vb.WriteByte(',')
		}
		vb.Write(quote(byteLevelString(raw)))
		fmt.Fprintf(&vb, ":%d", next)
		next++
	}
	for _, b := range byteOrder {
		add(string([]byte{b}))
	}
	var mb bytes.Buffer
	mb.WriteByte('[')
	for i, m := range merges {
		add(m[0] + m[1])
		if i > 0 {
			mb.WriteByte(',')
		}
		fmt.Fprintf(&mb, "[%s,%s]", quote(byteLevelString(m[0])), quote(byteLevelString(m[1])))
	}
	vb.WriteByte('}')
	mb.WriteByte(']')
	added := make([]*addedToken, len(specials))
	for i, s := range specials {
		added[i] = &addedToken{ID: next + i, Content: s, Special: true}
	}
	addedJSON, err := json.Marshal(added)
	if err != nil {
		return nil, err
	}
	pattern, _ := json.Marshal(PatternQwen2)
	doc := fmt.Sprintf(`{"version":"1.0","truncation":null,"padding":null,"added_tokens":%s,"normalizer":null,`+
		`"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":%s},"behavior":"Isolated","invert":false},`+
		`{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false}]},`+
		`"post_processor":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false},`+
		`"decoder":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false},`+
		`"model":{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":null,"end_of_word_suffix":null,`+
		`"fuse_unk":false,"byte_fallback":false,"ignore_merges":false,"vocab":%s,"merges":%s}}`,
		addedJSON, pattern, vb.Bytes(), mb.Bytes())
	t, err := parse([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: train: internal error: %w", err)
	}
	return t, nil
}
