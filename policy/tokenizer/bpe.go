package tokenizer

import (
	"container/heap"
	"sync"
)

// merge is one rule of the merge table: the pair's rank (its line in
// "merges", lower merges first) and the id of the merged token.
type merge struct{ rank, id int32 }

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// symbol is a node of the doubly linked list a pre-token is merged in.
type symbol struct {
	id         int32
	prev, next int32
	dead       bool
}

// candidate is a pending merge at pos; the queue pops the lowest rank, then
// the leftmost position, exactly as Hugging Face's Word::merge_all.
type candidate struct{ rank, pos, id int32 }

type candidates []candidate

func (q candidates) Len() int { return len(q) }
func (q candidates) Less(i, j int) bool {
	if q[i].rank != q[j].rank {
		return q[i].rank < q[j].rank
	}
	return q[i].pos < q[j].pos
}
func (q candidates) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *candidates) Push(x any)   { *q = append(*q, x.(candidate)) }
func (q *candidates) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// bpe turns one pre-token (raw bytes) into ids by merge-rank priority.
func (t *Tokenizer) bpe(piece string, out []int) []int {
	if t.ignoreMerges {
		if id, ok := t.rawVocab[piece]; ok {
			return append(out, id)
		}
	}
	syms := make([]symbol, 0, len(piece))
	for i := 0; i < len(piece); i++ {
		id := t.byteID[piece[i]]
		if id < 0 {
			if t.unk < 0 {
				continue // dropped, as Hugging Face's BPE does without unk_token
			}
			id = int32(t.unk)
			if t.fuseUnk && len(syms) > 0 && syms[len(syms)-1].id == id {
				continue
			}
		}
		syms = append(syms, symbol{id: id, prev: int32(len(syms)) - 1, next: int32(len(syms)) + 1})
	}
	if len(syms) == 0 {
		return out
	}
	syms[len(syms)-1].next = -1
	if len(syms) > 1 {
		q := make(candidates, 0, len(syms))
		for i := 0; i+1 < len(syms); i++ {
			if m, ok := t.merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
				q = append(q, candidate{m.rank, int32(i), m.id})
			}
		}
		heap.Init(&q)
		for q.Len() > 0 {
			c := heap.Pop(&q).(candidate)
			s := &syms[c.pos]
			if s.dead || s.next < 0 {
				continue
			}
			right := &syms[s.next]
			if m, ok := t.merges[pairKey(s.id, right.id)]; !ok || m.id != c.id {
				continue // stale: a neighbour has merged since
			}
			s.id = c.id
			right.dead = true
			s.next = right.next
			if s.next >= 0 {
				syms[s.next].prev = c.pos
			}
			if s.prev >= 0 {
				if m, ok := t.merges[pairKey(syms[s.prev].id, s.id)]; ok {
					heap.Push(&q, candidate{m.rank, s.prev, m.id})
				}
			}
			if s.next >= 0 {
				if m, ok := t.merges[pairKey(s.id, syms[s.next].id)]; ok {
					heap.Push(&q, candidate{m.rank, c.pos, m.id})
				}
			}
		}
	}
	for i := int32(0); i >= 0; i = syms[i].next {
		out = append(out, int(syms[i].id))
	}
	return out
}

// cacheLimit bounds the pre-token cache (Hugging Face uses 10,000 entries);
// past it, new pre-tokens are merged every time.
const cacheLimit = 1 << 16

// wordCache maps a pre-token's raw bytes to its ids. Common words repeat,
// so most pre-tokens of a text skip the merge loop.
type wordCache struct {
	mu sync.RWMutex
	m  map[string][]int
}

func (c *wordCache) get(k string) ([]int, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

func (c *wordCache) put(k string, v []int) {
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string][]int)
	}
	if len(c.m) < cacheLimit {
		c.m[k] = v
	}
	c.mu.Unlock()
}
