package linalg

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
)

var logOnce sync.Once

// Shapes of the demo model (512 tokens, d=256, ffn 704, vocab 2048) and of a
// 124M-class model (d=768, ffn 2048, vocab 32000), plus attention heads.
var benchShapes = []struct {
	name    string
	o       op
	m, n, k int
}{
	{"demo/proj", opNT, 512, 256, 256},
	{"demo/up", opNT, 512, 704, 256},
	{"demo/down", opNT, 512, 256, 704},
	{"demo/lmhead", opNT, 512, 2048, 256},
	{"demo/dx_up", opNN, 512, 256, 704},
	{"demo/dW_proj", opTN, 256, 256, 512},
	{"demo/dW_up", opTN, 704, 256, 512},
	{"demo/dW_down", opTN, 256, 704, 512},
	{"attn/QK", opNT, 128, 128, 64},
	{"attn/PV", opNN, 128, 64, 128},
	{"124M/proj", opNT, 512, 768, 768},
	{"124M/up", opNT, 512, 2048, 768},
	{"124M/lmhead", opNT, 512, 32000, 768},
}

// BenchmarkMatmul: shape × backend × workers, in GFLOP/s (2mnk per call).
// Portable skips the largest shapes to keep the run short.
func BenchmarkMatmul(b *testing.B) {
	if openblasCore != nil {
		logOnce.Do(func() {
			fmt.Printf("openblas: %s; OPENBLAS_CORETYPE=%q\n", openblasCore(), os.Getenv("OPENBLAS_CORETYPE"))
		})
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range benchShapes {
		x := randSlice[float32](r, s.m*s.k)
		y := randSlice[float32](r, s.n*s.k)
		c := make([]float32, s.m*s.n)
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		name := fmt.Sprintf("%s_%v_%dx%dx%d", s.name, s.o, s.m, s.n, s.k)
		for _, be := range allBackends() {
			if be == "portable" && flops > 1e9 {
				continue
			}
			for _, w := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/w%d", name, be, w), func(b *testing.B) {
					withBackend(b, be)
					withWorkers(b, w)
					call(s.o, false, c, x, y, s.m, s.n, s.k, false) // warm pools
					b.ResetTimer()
					for b.Loop() {
						call(s.o, false, c, x, y, s.m, s.n, s.k, false)
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
