package linalg

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// workerSetting is the SetWorkers value; 0 means GOMAXPROCS.
var workerSetting atomic.Int64

// SetWorkers sets how many goroutines NT, NN and TN may use (n <= 0 means
// GOMAXPROCS) and returns the previous setting (0 meaning GOMAXPROCS), so
// that defer SetWorkers(SetWorkers(1)) restores it. The result bits never
// depend on it. Safe for concurrent use.
func SetWorkers(n int) int {
	if n < 0 {
		n = 0
	}
	return int(workerSetting.Swap(int64(n)))
}

// Workers reports how many goroutines NT, NN and TN use.
func Workers() int {
	if n := int(workerSetting.Load()); n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// parallel runs f(0..tasks-1) on up to workers goroutines (the caller is
// one of them). Tasks are disjoint blocks of C, so which goroutine runs
// which task cannot change any result.
func parallel(tasks, workers int, f func(t int)) {
	workers = min(workers, tasks)
	if workers <= 1 {
		for t := range tasks {
			f(t)
		}
		return
	}
	var next atomic.Int64
	loop := func() {
		for {
			t := int(next.Add(1) - 1)
			if t >= tasks {
				return
			}
			f(t)
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(loop)
	}
	loop()
	wg.Wait()
}

// parallelFlops: below this many flops (2mnk) a product runs on one
// goroutine; spawning would cost more than it saves. Bits are unaffected.
const parallelFlops = 1 << 19
