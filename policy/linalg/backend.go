package linalg

import (
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
)

// backend is the seam behind NT/NN/TN. sgemm, when set, handles float32;
// everything else (float64, or a nil sgemm) runs the portable Go kernels.
type backend struct {
	name  string
	sgemm func(o op, c, a, b []float32, m, n, k int, acc bool, workers int)
}

var (
	backends = map[string]*backend{"portable": {name: "portable"}}
	cur      atomic.Pointer[backend]
)

// register adds a backend at init time; the last one registered with
// preferred=true becomes the default (else "portable" is).
func register(b *backend, preferred bool) {
	backends[b.name] = b
	if preferred {
		cur.Store(b)
	}
}

func current() *backend {
	if b := cur.Load(); b != nil {
		return b
	}
	return backends["portable"]
}

// Backend names the float32 backend in use: "avx2", "portable", or
// "openblas" (build tag openblas).
func Backend() string { return current().name }

// SetBackend selects a backend by name ("portable", "avx2", "openblas"),
// e.g. to benchmark them side by side. It fails for unknown names and for
// backends this build or CPU does not have. Safe for concurrent use.
func SetBackend(name string) error {
	b, ok := backends[name]
	if !ok {
		names := make([]string, 0, len(backends))
		for n := range backends {
			names = append(names, n)
		}
		sort.Strings(names)
		return fmt.Errorf("linalg: backend %q unavailable (have %s)", name, strings.Join(names, ", "))
	}
	cur.Store(b)
	return nil
}

// openblasCore describes the OpenBLAS build when the openblas tag is on.
var openblasCore func() string
