//go:build amd64

package linalg

import "sync"

// Packed GEMM driver for the float32 SIMD backend (BLIS loop structure).
//
// C is cut into tasks (disjoint rectangles of whole micro-tiles), run in
// parallel. Within a task, k is walked in kc blocks: the B block (kc x nb)
// is packed into 16-wide panels, then for each mc rows the A block (mc x
// kc) is packed into 6-tall panels and every 6x16 C tile is loaded, run
// through kc FMA steps and stored. Loading the tile from C at the start of
// each kc block and storing it at the end continues each element's single
// chain exactly, so the kc blocking, the task cut and the worker count can
// never change a bit.
const (
	mr = 6   // micro-tile rows (ymm accumulators: 6 x 2)
	nr = 16  // micro-tile columns (two ymm of 8 floats)
	kc = 256 // k block: a B micro-panel (kc x 16 x 4 B = 16 KiB) stays in L1
	mc = 96  // rows per A block (96 x kc x 4 B = 96 KiB, in L2)
	nc = 512 // max task width: packed B block (512 KiB) and C rows stay in L2
)

type packBufs struct{ a, b []float32 }

var bufPool = sync.Pool{New: func() any { return &packBufs{a: make([]float32, mc*kc)} }}

func sgemm(o op, c, a, b []float32, m, n, k int, acc bool, workers int) {
	if 2*m*n*k < parallelFlops {
		workers = 1
	}
	mb, nb := plan(m, n, workers)
	tm, tn := ceilDiv(m, mb), ceilDiv(n, nb)
	if tm*tn == 1 || workers <= 1 {
		for t := range tm * tn {
			i0, j0 := t/tn*mb, t%tn*nb
			gemmTask(o, c, a, b, m, n, k, acc, i0, min(i0+mb, m), j0, min(j0+nb, n))
		}
		return
	}
	parallel(tm*tn, workers, func(t int) {
		i0, j0 := t/tn*mb, t%tn*nb
		gemmTask(o, c, a, b, m, n, k, acc, i0, min(i0+mb, m), j0, min(j0+nb, n))
	})
}

// plan picks the task size mb x nb (multiples of mr and nr): at most nc
// wide, and at least `workers` tasks, cutting whichever side is longer so
// that the duplicated packing (A once per column task, B once per row task)
// stays small. Performance only: results do not depend on it.
func plan(m, n, workers int) (mb, nb int) {
	tm, tn := 1, ceilDiv(n, nc)
	for tm*tn < workers {
		bm, bn := ceilDiv(m, tm), ceilDiv(n, tn)
		switch {
		case bm >= bn && bm > mr:
			tm++
		case bn > nr:
			tn++
		case bm > mr:
			tm++
		default:
			tm = workers // tiny: give up balancing
		}
		if tm >= m && tn >= n {
			break
		}
	}
	mb = roundUp(ceilDiv(m, tm), mr)
	nb = roundUp(ceilDiv(n, tn), nr)
	return mb, nb
}

func gemmTask(o op, c, a, b []float32, m, n, k int, acc bool, i0, i1, j0, j1 int) {
	bufs := bufPool.Get().(*packBufs)
	defer bufPool.Put(bufs)
	nbPad := roundUp(j1-j0, nr)
	if cap(bufs.b) < kc*nbPad {
		bufs.b = make([]float32, kc*nbPad)
	}
	for pc := 0; pc < k; pc += kc {
		kb := min(kc, k-pc)
		load := acc || pc > 0
		bp := bufs.b[:kb*nbPad]
		if o == opNT {
			packBT(bp, b, k, pc, kb, j0, j1)
		} else {
			packB(bp, b, n, pc, kb, j0, j1)
		}
		for ic := i0; ic < i1; ic += mc {
			ib := min(mc, i1-ic)
			// TN's A ([k,m]) is packed (cheap contiguous copies); NN/NT's
			// row-major A is read in place by the kernel (packing it would
			// be a transpose), except a short last panel, packed with zero
			// padding.
			ap := bufs.a[:kb*roundUp(ib, mr)]
			if o == opTN {
				packAT(ap, a, m, pc, kb, ic, ib)
			} else if ib%mr != 0 {
				ir := ib / mr * mr
				packA(ap[ir*kb:], a, k, pc, kb, ic+ir, ib-ir)
			}
			for jr := j0; jr < j1; jr += nr {
				bpan := &bp[(jr-j0)*kb]
				cols := min(nr, j1-jr)
				for ir := 0; ir < ib; ir += mr {
					rows := min(mr, ib-ir)
					apan, ai, as := &ap[ir*kb], 4, 4*mr // packed panel
					if o != opTN && rows == mr {
						apan, ai, as = &a[(ic+ir)*k+pc], 4*k, 4 // in place
					}
					ci := (ic+ir)*n + jr
					if rows == mr && cols == nr {
						kernel6x16(kb, apan, ai, as, bpan, &c[ci], n, load)
						continue
					}
					edgeTile(kb, apan, ai, as, bpan, c[ci:], n, rows, cols, load)
				}
			}
		}
	}
}

// edgeTile runs the kernel on a partial tile through a full-size scratch
// tile; padded lanes compute on packed zeros and are dropped, real lanes
// get exactly the same FMA chain as in a full tile.
func edgeTile(kb int, apan *float32, ai, as int, bpan *float32, c []float32, ldc, rows, cols int, load bool) {
	var t [mr * nr]float32
	if load {
		for i := range rows {
			copy(t[i*nr:i*nr+cols], c[i*ldc:i*ldc+cols])
		}
	}
	kernel6x16(kb, apan, ai, as, bpan, &t[0], nr, load)
	for i := range rows {
		copy(c[i*ldc:i*ldc+cols], t[i*nr:i*nr+cols])
	}
}

// Packing is a visible part of the run time on the demo shapes: the
// contiguous copies are in assembly (pack_amd64.s), the one transpose
// (packBT) moves 16 row streams into one sequential stream.

// packA packs rows [i0,i0+ib) x cols [p0,p0+kb) of a row-major a (stride
// lda) into 6-row panels, p-major: dst[panel][p*6+i], zero padded. Only
// the short last panel of a block goes through here (the kernel reads full
// panels in place).
func packA(dst, a []float32, lda, p0, kb, i0, ib int) {
	for ir := 0; ir < ib; ir += mr {
		d := dst[ir*kb : (ir+mr)*kb]
		clear(d)
		for i := range min(mr, ib-ir) {
			for p, v := range a[(i0+ir+i)*lda+p0:][:kb] {
				d[p*mr+i] = v
			}
		}
	}
}

// packAT packs the same block when a is stored transposed ([k,m], stride
// lda): element (i,p) is a[p*lda+i], so each p is a contiguous copy.
func packAT(dst, a []float32, lda, p0, kb, i0, ib int) {
	for ir := 0; ir < ib; ir += mr {
		d := dst[ir*kb : (ir+mr)*kb]
		rows := min(mr, ib-ir)
		src := a[p0*lda+i0+ir:]
		if rows == mr {
			_ = src[(kb-1)*lda+mr-1] // bounds for copy6
			copy6(&d[0], &src[0], lda, kb)
			continue
		}
		clear(d)
		for p := range kb {
			copy(d[p*mr:p*mr+rows], src[p*lda:p*lda+rows])
		}
	}
}

// packB packs rows [p0,p0+kb) x cols [j0,j1) of a row-major b ([k,n],
// stride ldb) into 16-column panels, p-major: dst[panel][p*16+j].
func packB(dst, b []float32, ldb, p0, kb, j0, j1 int) {
	for jr := j0; jr < j1; jr += nr {
		d := dst[(jr-j0)*kb : (jr-j0+nr)*kb]
		cols := min(nr, j1-jr)
		src := b[p0*ldb+jr:]
		if cols == nr {
			_ = src[(kb-1)*ldb+nr-1] // bounds for copy16
			copy16(&d[0], &src[0], ldb, kb)
			continue
		}
		clear(d)
		for p := range kb {
			copy(d[p*nr:p*nr+cols], src[p*ldb:p*ldb+cols])
		}
	}
}

// packBT packs the same block when b is stored [n,k] (the NT case):
// element (p,j) is b[j*ldb+p], a transpose: 16 row streams in, one
// sequential stream out.
func packBT(dst, b []float32, ldb, p0, kb, j0, j1 int) {
	for jr := j0; jr < j1; jr += nr {
		d := dst[(jr-j0)*kb : (jr-j0+nr)*kb]
		cols := min(nr, j1-jr)
		if cols < nr {
			clear(d)
			for j := range cols {
				for p, v := range b[(jr+j)*ldb+p0:][:kb] {
					d[p*nr+j] = v
				}
			}
			continue
		}
		var r [nr][]float32
		for j := range r {
			r[j] = b[(jr+j)*ldb+p0:][:kb]
		}
		r0, r1, r2, r3, r4, r5, r6, r7 := r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
		r8, r9, r10, r11, r12, r13, r14, r15 := r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]
		for p := range kb {
			q := (*[nr]float32)(d[p*nr:])
			q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p], r6[p], r7[p]
			q[8], q[9], q[10], q[11], q[12], q[13], q[14], q[15] = r8[p], r9[p], r10[p], r11[p], r12[p], r13[p], r14[p], r15[p]
		}
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
func roundUp(a, b int) int { return ceilDiv(a, b) * b }
