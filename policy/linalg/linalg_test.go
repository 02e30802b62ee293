package linalg

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

var ops = []op{opNT, opNN, opTN}

// call dispatches to the public entry points, parallel or serial.
func call[T Float](o op, serial bool, c, a, b []T, m, n, k int, acc bool) {
	switch {
	case o == opNT && !serial:
		NT(c, a, b, m, n, k, acc)
	case o == opNN && !serial:
		NN(c, a, b, m, n, k, acc)
	case o == opTN && !serial:
		TN(c, a, b, m, n, k, acc)
	case o == opNT:
		NTSerial(c, a, b, m, n, k, acc)
	case o == opNN:
		NNSerial(c, a, b, m, n, k, acc)
	default:
		TNSerial(c, a, b, m, n, k, acc)
	}
}

// at returns element (i,p) of op(a) and (p,j) of op(b).
func aAt[T Float](o op, a []T, m, k, i, p int) T {
	if o == opTN {
		return a[p*m+i]
	}
	return a[i*k+p]
}

func bAt[T Float](o op, b []T, n, k, p, j int) T {
	if o == opNT {
		return b[j*k+p]
	}
	return b[p*n+j]
}

func randSlice[T Float](r *rand.Rand, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(r.Float64()*2 - 1)
	}
	return s
}

// simdBackends lists the backends that honour the contract in this build.
func contractBackends() []string {
	names := []string{"portable"}
	if _, ok := backends["avx2"]; ok {
		names = append(names, "avx2")
	}
	return names
}

func allBackends() []string {
	names := contractBackends()
	if _, ok := backends["openblas"]; ok {
		names = append(names, "openblas")
	}
	return names
}

func withBackend(t testing.TB, name string) {
	t.Helper()
	prev := Backend()
	if err := SetBackend(name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { SetBackend(prev) })
}

func withWorkers(t testing.TB, n int) {
	prev := SetWorkers(n)
	t.Cleanup(func() { SetWorkers(prev) })
}

var dims = []int{1, 2, 3, 5, 7, 15, 16, 17, 31, 33, 64, 100, 257}

// TestCorrect checks every op, acc, backend and type against a float64
// triple loop, over awkward shapes (edge tiles, k not a multiple of the
// unroll or of kc).
func TestCorrect(t *testing.T) {
	for _, be := range allBackends() {
		t.Run(be, func(t *testing.T) {
			withBackend(t, be)
			testCorrect[float32](t, 1e-5)
			testCorrect[float64](t, 1e-13)
		})
	}
}

func testCorrect[T Float](t *testing.T, tol float64) {
	r := rand.New(rand.NewPCG(1, 2))
	var shapes [][3]int
	for _, m := range dims {
		for _, n := range dims {
			// k sweeps dims on a diagonal-ish pattern, plus k=0, to keep the test fast.
			shapes = append(shapes, [3]int{m, n, dims[(len(shapes)*5)%len(dims)]})
		}
	}
	for _, d := range dims {
		shapes = append(shapes, [3]int{d, d, d}, [3]int{d, 17, 0}, [3]int{7, d, 300})
	}
	shapes = append(shapes, [3]int{33, 40, 600})
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, o := range ops {
			a := randSlice[T](r, m*k)
			b := randSlice[T](r, n*k)
			c0 := randSlice[T](r, m*n)
			// float64 reference a·b and the magnitude sum for the tolerance.
			want, mag := make([]float64, m*n), make([]float64, m*n)
			for i := range m {
				for j := range n {
					for p := range k {
						x := float64(aAt(o, a, m, k, i, p)) * float64(bAt(o, b, n, k, p, j))
						want[i*n+j] += x
						mag[i*n+j] += math.Abs(x)
					}
				}
			}
			for _, acc := range []bool{false, true} {
				for _, serial := range []bool{false, true} {
					c := append([]T(nil), c0...)
					call(o, serial, c, a, b, m, n, k, acc)
					for e, w := range want {
						bound := tol * (mag[e] + 1)
						if acc {
							w += float64(c0[e])
						}
						if d := math.Abs(float64(c[e]) - w); !(d <= bound) {
							t.Fatalf("%T %v m=%d n=%d k=%d acc=%v serial=%v: c[%d,%d]=%g want %g", T(0), o, m, n, k, acc, serial, e/n, e%n, c[e], w)
						}
					}
				}
			}
		}
	}
}

// TestExactChain pins the contract itself: each element equals the
// sequential chain over ascending p, bit for bit. Portable: s = s + T(a*b);
// avx2: s = fma(a,b,s) with a single rounding (computed here with big.Float).
func TestExactChain(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m, n, k := 13, 37, 300
	for _, be := range contractBackends() {
		withBackend(t, be)
		for _, o := range ops {
			a, b := randSlice[float32](r, m*k), randSlice[float32](r, n*k)
			c := randSlice[float32](r, m*n)
			c0 := append([]float32(nil), c...)
			NT(c[:0:0], a[:0:0], b[:0:0], 0, 0, 0, false) // no-op
			call(o, false, c, a, b, m, n, k, true)
			for i := range m {
				for j := range n {
					s := c0[i*n+j]
					for p := range k {
						x, y := aAt(o, a, m, k, i, p), bAt(o, b, n, k, p, j)
						if be == "portable" {
							s += float32(x * y)
						} else {
							s = fma32(x, y, s)
						}
					}
					if math.Float32bits(s) != math.Float32bits(c[i*n+j]) {
						t.Fatalf("%s %v: c[%d,%d]=%x want chain %x", be, o, i, j, math.Float32bits(c[i*n+j]), math.Float32bits(s))
					}
				}
			}
		}
	}
}

// fma32 is float32 fma with one rounding (float64 FMA would round twice).
func fma32(x, y, z float32) float32 {
	var p, s big.Float
	p.SetPrec(64).SetFloat64(float64(x)).Mul(&p, big.NewFloat(float64(y))) // exact: 48 bits
	s.SetPrec(24).SetMode(big.ToNearestEven).Add(&p, big.NewFloat(float64(z)))
	f, _ := s.Float32()
	return f
}

// TestDeterminism: for each contract backend, the bits of c do not depend
// on the worker count, on m (one row alone, or a row block, equals the same
// rows inside the big product) nor on n (a column block alone).
func TestDeterminism(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	shapes := [][3]int{{300, 200, 530}, {97, 45, 257}, {6, 700, 100}, {512, 64, 64}}
	for _, be := range contractBackends() {
		withBackend(t, be)
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			for _, o := range ops {
				name := fmt.Sprintf("%s/%v/%dx%dx%d", be, o, m, n, k)
				a, b := randSlice[float32](r, m*k), randSlice[float32](r, n*k)
				c0 := randSlice[float32](r, m*n)
				for _, acc := range []bool{false, true} {
					SetWorkers(1)
					ref := append([]float32(nil), c0...)
					call(o, false, ref, a, b, m, n, k, acc)
					for _, w := range []int{2, 3, 4, 7} {
						SetWorkers(w)
						c := append([]float32(nil), c0...)
						call(o, false, c, a, b, m, n, k, acc)
						sameBits(t, name+fmt.Sprintf(" workers=%d", w), c, ref)
						c = append(c[:0], c0...)
						call(o, true, c, a, b, m, n, k, acc)
						sameBits(t, name+" serial", c, ref)
					}
					SetWorkers(0)
					// Sub-blocks of rows [i0,i1) and columns [j0,j1), computed alone.
					for _, blk := range [][4]int{{0, 1, 0, n}, {m - 1, m, 0, n}, {m / 3, m/3 + 5, 0, n}, {0, m, n / 2, n}, {m / 2, m, 1, min(n, 18)}} {
						i0, i1, j0, j1 := blk[0], min(blk[1], m), blk[2], blk[3]
						sa := subA(o, a, m, k, i0, i1)
						sb := subB(o, b, n, k, j0, j1)
						sm, sn := i1-i0, j1-j0
						sc := make([]float32, sm*sn)
						for i := range sm {
							copy(sc[i*sn:], c0[(i0+i)*n+j0:(i0+i)*n+j1])
						}
						call(o, false, sc, sa, sb, sm, sn, k, acc)
						for i := range sm {
							sameBits(t, name+fmt.Sprintf(" block %v", blk), sc[i*sn:(i+1)*sn], ref[(i0+i)*n+j0:(i0+i)*n+j1])
						}
					}
				}
			}
		}
	}
	SetWorkers(0)
}

// subA extracts rows [i0,i1) of op(a) in the storage layout of op.
func subA(o op, a []float32, m, k, i0, i1 int) []float32 {
	if o != opTN {
		return append([]float32(nil), a[i0*k:i1*k]...)
	}
	s := make([]float32, 0, k*(i1-i0))
	for p := range k {
		s = append(s, a[p*m+i0:p*m+i1]...)
	}
	return s
}

// subB extracts columns [j0,j1) of op(b) in the storage layout of op.
func subB(o op, b []float32, n, k, j0, j1 int) []float32 {
	if o == opNT {
		return append([]float32(nil), b[j0*k:j1*k]...)
	}
	s := make([]float32, 0, k*(j1-j0))
	for p := range k {
		s = append(s, b[p*n+j0:p*n+j1]...)
	}
	return s
}

// TestSplitK: accumulating TN over rows [0,k1) then [k1,k) equals one
// call over all k rows, bitwise (micro-batch gradient accumulation equals
// one big batch). Holds for NT and NN too, by the same chain rule.
func TestSplitK(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, be := range contractBackends() {
		withBackend(t, be)
		for _, s := range [][3]int{{64, 96, 512}, {37, 45, 300}, {256, 256, 1000}} {
			m, n, k := s[0], s[1], s[2]
			for _, o := range ops {
				a, b := randSlice[float32](r, m*k), randSlice[float32](r, n*k)
				c0 := randSlice[float32](r, m*n)
				for _, acc := range []bool{false, true} {
					ref := append([]float32(nil), c0...)
					call(o, false, ref, a, b, m, n, k, acc)
					for _, k1 := range []int{1, 3, 100, 255, 256, 257, k - 1} {
						c := append([]float32(nil), c0...)
						aInner, bInner := o != opTN, o == opNT
						a1, b1 := splitK(a, m, k, 0, k1, aInner), splitK(b, n, k, 0, k1, bInner)
						a2, b2 := splitK(a, m, k, k1, k, aInner), splitK(b, n, k, k1, k, bInner)
						call(o, false, c, a1, b1, m, n, k1, acc)
						call(o, false, c, a2, b2, m, n, k-k1, true)
						sameBits(t, fmt.Sprintf("%s %v %v k1=%d acc=%v", be, o, s, k1, acc), c, ref)
					}
				}
			}
		}
	}
}

// splitK returns the part of operand x holding p in [p0,p1), in the same
// layout: x is stored [r,k] when kInner, else [k,r].
func splitK(x []float32, r, k, p0, p1 int, kInner bool) []float32 {
	if !kInner {
		return append([]float32(nil), x[p0*r:p1*r]...)
	}
	s := make([]float32, 0, r*(p1-p0))
	for i := range r {
		s = append(s, x[i*k+p0:i*k+p1]...)
	}
	return s
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d = %x, want %x (bitwise)", what, i, math.Float32bits(got[i]), math.Float32bits(want[i]))
		}
	}
}

func TestBounds(t *testing.T) {
	for _, o := range ops {
		for _, tc := range []struct {
			lc, la, lb, m, n, k int
			msg                 string
		}{
			{5, 6, 9, 2, 3, 3, "len(c)=5"},
			{6, 5, 9, 2, 3, 3, "len(a)=5"},
			{6, 6, 8, 2, 3, 3, "len(b)=8"},
			{6, 6, 9, -2, 3, 3, "negative"},
		} {
			func() {
				defer func() {
					r := recover()
					if r == nil || !strings.Contains(fmt.Sprint(r), tc.msg) {
						t.Errorf("%v %+v: panic %v, want one mentioning %q", o, tc, r, tc.msg)
					}
				}()
				call(o, false, make([]float32, tc.lc), make([]float32, tc.la), make([]float32, tc.lb), tc.m, tc.n, tc.k, false)
			}()
		}
	}
	// Exactly long enough (and longer) is fine.
	NT(make([]float32, 6), make([]float32, 6), make([]float32, 9), 2, 3, 3, false)
	TN(make([]float64, 7), make([]float64, 7), make([]float64, 10), 2, 3, 3, true)
}

func TestBackends(t *testing.T) {
	if err := SetBackend("nope"); err == nil {
		t.Fatal("SetBackend(nope) succeeded")
	}
	for _, be := range allBackends() {
		withBackend(t, be)
		if Backend() != be {
			t.Fatalf("Backend()=%q after SetBackend(%q)", Backend(), be)
		}
	}
	prev := SetWorkers(3)
	if Workers() != 3 || SetWorkers(prev) != 3 {
		t.Fatal("SetWorkers/Workers round trip")
	}
}

// Named float32 types take the same (SIMD) path.
type f32named float32

func TestNamedType(t *testing.T) {
	a := []f32named{1, 2, 3, 4}
	c := make([]f32named, 4)
	NN(c, a, a, 2, 2, 2, false)
	if c[0] != 7 || c[1] != 10 || c[2] != 15 || c[3] != 22 {
		t.Fatal(c)
	}
}
