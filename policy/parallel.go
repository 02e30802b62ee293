package policy

import (
	"github.com/rft-dev/rft/policy/linalg"
	"runtime"
	"sync"
	"sync/atomic"
)

// workers is the goroutine count of the policy kernels; 0 means GOMAXPROCS.
// It is read on every kernel call, so it is atomic: a server may change it
// while other goroutines run the model.
var workers atomic.Int64

// SetWorkers sets the number of goroutines the policy kernels use (n <= 0
// means GOMAXPROCS at the time of each call) and returns the previous setting.
// Results never depend on it: every kernel gives bitwise the same output on 1
// or 16 workers (DESIGN.md, decision 5). The matmul backend follows the
// same setting.
func SetWorkers(n int) int {
	if n < 0 {
		n = 0
	}
	linalg.SetWorkers(n)
	return int(workers.Swap(int64(n)))
}

// workerCount is the number of goroutines a kernel may use now (>= 1).
func workerCount() int {
	if n := int(workers.Load()); n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// parallelFor runs fn(0), ..., fn(n-1) on up to workerCount() goroutines and
// returns when all have finished. Items are handed out dynamically (an atomic
// counter), because their costs differ (attention over sequences of different
// lengths); so which goroutine runs an item is unspecified, and fn(i) must
// write outputs disjoint from every other item's for the result to be
// deterministic.
func parallelFor(n int, fn func(i int)) {
	w := min(workerCount(), n)
	if w <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range w {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// parallelRange splits [0, n) into at most workerCount() contiguous chunks of
// at least grain items each and runs fn(lo, hi) on every chunk in parallel.
// The grain keeps goroutine start-up (about a microsecond) small against the
// work of a chunk. Chunk boundaries depend on the worker count, so fn must
// compute each item independently of where its chunk starts.
func parallelRange(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	chunks := min(workerCount(), (n+grain-1)/max(grain, 1))
	if chunks <= 1 {
		fn(0, n)
		return
	}
	parallelFor(chunks, func(c int) { fn(c*n/chunks, (c+1)*n/chunks) })
}

// kernelGrain is the number of multiply-adds below which splitting work over
// goroutines costs more than it saves.
const kernelGrain = 1 << 14

// rowGrain is the number of rows of width d that make up kernelGrain work.
func rowGrain(d int) int { return max(1, kernelGrain/max(d, 1)) }
