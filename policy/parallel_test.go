package policy

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// TestKernelParallelFor checks that every index runs exactly once for several
// worker counts and sizes, and that SetWorkers returns the previous setting.
func TestKernelParallelFor(t *testing.T) {
	prev := SetWorkers(3)
	defer SetWorkers(prev)
	if got := SetWorkers(5); got != 3 {
		t.Errorf("SetWorkers returned %d, want the previous 3", got)
	}
	if workerCount() != 5 {
		t.Errorf("workerCount() = %d after SetWorkers(5)", workerCount())
	}
	SetWorkers(-1)
	if workerCount() != runtime.GOMAXPROCS(0) {
		t.Errorf("workerCount() = %d with n <= 0, want GOMAXPROCS %d", workerCount(), runtime.GOMAXPROCS(0))
	}
	for _, w := range []int{1, 2, 7} {
		SetWorkers(w)
		for _, n := range []int{0, 1, 3, 100} {
			hits := make([]atomic.Int32, n)
			parallelFor(n, func(i int) { hits[i].Add(1) })
			for i := range hits {
				if hits[i].Load() != 1 {
					t.Fatalf("workers %d, n %d: fn(%d) ran %d times", w, n, i, hits[i].Load())
				}
			}
			rhits := make([]atomic.Int32, n)
			parallelRange(n, 2, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					rhits[i].Add(1)
				}
			})
			for i := range rhits {
				if rhits[i].Load() != 1 {
					t.Fatalf("parallelRange workers %d, n %d: item %d ran %d times", w, n, i, rhits[i].Load())
				}
			}
		}
	}
}
