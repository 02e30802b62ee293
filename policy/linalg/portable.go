package linalg

// Portable Go kernels, generic over float32 and float64. Each output element
// is the chain s = s + T(a*b) over ascending p. The explicit T(...) around
// the product forbids the compiler from fusing it into an FMA (Go spec,
// "Arithmetic operators"): fusion is platform dependent (arm64 fuses, amd64
// v1 does not), and a fused main loop beside an unfused tail loop would make
// the bits depend on n. With the conversion every element gets the same
// two roundings on every platform.

// portableRowBlock is the number of C rows one portable task covers.
const portableRowBlock = 16

func portable[T Float](o op, c, a, b []T, m, n, k int, acc bool, workers int) {
	if 2*m*n*k < parallelFlops {
		workers = 1
	}
	tasks := (m + portableRowBlock - 1) / portableRowBlock
	run := func(t int) {
		i0 := t * portableRowBlock
		i1 := min(i0+portableRowBlock, m)
		switch o {
		case opNT:
			portNT(c, a, b, n, k, i0, i1, acc)
		case opNN:
			portNN(c, a, b, m, n, k, i0, i1, acc)
		case opTN:
			portTN(c, a, b, m, n, k, i0, i1, acc)
		}
	}
	if workers <= 1 {
		for t := range tasks {
			run(t)
		}
		return
	}
	parallel(tasks, workers, run)
}

// portNT: rows [i0,i1) of c = a·bᵀ; four columns at a time so that four
// independent chains hide the add latency.
func portNT[T Float](c, a, b []T, n, k, i0, i1 int, acc bool) {
	for i := i0; i < i1; i++ {
		ar := a[i*k : i*k+k]
		cr := c[i*n : i*n+n]
		j := 0
		for ; j+4 <= n; j += 4 {
			b0 := b[j*k : j*k+k]
			b1 := b[(j+1)*k : (j+1)*k+k]
			b2 := b[(j+2)*k : (j+2)*k+k]
			b3 := b[(j+3)*k : (j+3)*k+k]
			var s0, s1, s2, s3 T
			if acc {
				s0, s1, s2, s3 = cr[j], cr[j+1], cr[j+2], cr[j+3]
			}
			for p, av := range ar {
				s0 += T(av * b0[p])
				s1 += T(av * b1[p])
				s2 += T(av * b2[p])
				s3 += T(av * b3[p])
			}
			cr[j], cr[j+1], cr[j+2], cr[j+3] = s0, s1, s2, s3
		}
		for ; j < n; j++ {
			bj := b[j*k : j*k+k]
			var s T
			if acc {
				s = cr[j]
			}
			for p, av := range ar {
				s += T(av * bj[p])
			}
			cr[j] = s
		}
	}
}

// portNN: rows [i0,i1) of c = a·b, as row updates c[i,:] += a[i,p]·b[p,:]
// over ascending p: every c[i,j] still sees its terms in p order.
func portNN[T Float](c, a, b []T, m, n, k, i0, i1 int, acc bool) {
	for i := i0; i < i1; i++ {
		cr := c[i*n : i*n+n]
		if !acc {
			clear(cr)
		}
		for p, av := range a[i*k : i*k+k] {
			axpy(cr, b[p*n:p*n+n], av)
		}
	}
}

// portTN: rows [i0,i1) of c = aᵀ·b; p outermost keeps each chain in
// ascending p while the small block of c rows stays in cache.
func portTN[T Float](c, a, b []T, m, n, k, i0, i1 int, acc bool) {
	if !acc {
		clear(c[i0*n : i1*n])
	}
	for p := range k {
		br := b[p*n : p*n+n]
		for i, av := range a[p*m+i0 : p*m+i1] {
			axpy(c[(i0+i)*n:(i0+i)*n+n], br, av)
		}
	}
}

// axpy: y[j] = y[j] + T(alpha*x[j]).
func axpy[T Float](y, x []T, alpha T) {
	x = x[:len(y)]
	for j, xv := range x {
		y[j] += T(alpha * xv)
	}
}
