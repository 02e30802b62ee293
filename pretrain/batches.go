package pretrain

import (
	"math/rand/v2"

	"github.com/rft-dev/rft/policy"
)

// batchOrder picks the sequences of each step: epochs are seeded
// permutations of the training rows, read in order, so that the rows of step
// s depend only on (seed, s). That is what makes resume exact: a resumed run
// needs no saved data cursor, only its step.
type batchOrder struct {
	seed  uint64
	n     int
	epoch int
	perm  []int // the permutation of epoch
}

func newBatchOrder(seed uint64, n int) *batchOrder { return &batchOrder{seed: seed, n: n, epoch: -1} }

// rows returns the row indices of step's batch of size b.
func (o *batchOrder) rows(step, b int) []int {
	idx := make([]int, b)
	for j := range idx {
		k := step*b + j
		if e := k / o.n; e != o.epoch {
			o.epoch, o.perm = e, rand.New(rand.NewPCG(o.seed, uint64(e)+0x9e37)).Perm(o.n)
		}
		idx[j] = o.perm[k%o.n]
	}
	return idx
}

// packBatch packs rows into one policy.Batch.
func packBatch(seqs []Sequence, rows []int) policy.Batch {
	var b policy.Batch
	for _, r := range rows {
		b.Tokens = append(b.Tokens, seqs[r].Tokens...)
		b.Targets = append(b.Targets, seqs[r].Targets...)
		b.Lens = append(b.Lens, len(seqs[r].Tokens))
	}
	return b
}

// microBatches splits a step's rows into k equal micro-batches.
func microBatches(seqs []Sequence, rows []int, k int) []policy.Batch {
	per := len(rows) / k
	out := make([]policy.Batch, k)
	for i := range out {
		out[i] = packBatch(seqs, rows[i*per:(i+1)*per])
	}
	return out
}
