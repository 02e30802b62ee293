package policy

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestRopeInvFreq checks inv_freq for head_dim 8, theta 10000, where the
// unscaled frequencies are theta^(−2i/8) = 1, 0.1, 0.01, 0.001 (wavelengths
// 2π/f ≈ 6.28, 62.8, 628.3, 6283.2), against values worked out by hand.
func TestRopeInvFreq(t *testing.T) {
	base := []float64{1, 0.1, 0.01, 0.001}

	// llama3 with factor 8, low_freq_factor 1, high_freq_factor 4, original
	// 1024 positions: wavelengths below 1024/4 = 256 keep their frequency
	// (1, 0.1); above 1024/1 = 1024 it is divided by 8 (0.001/8 = 1.25e-4);
	// 628.3 lies between, with smooth = (1024/628.3 − 1)/(4 − 1) = 0.20992,
	// so f = (1 − smooth)·0.01/8 + smooth·0.01 = 0.0030868.
	smooth := (1024/(2*math.Pi/0.01) - 1) / (4 - 1)
	llama3 := []float64{1, 0.1, (1-smooth)*0.01/8 + smooth*0.01, 0.001 / 8}
	if math.Abs(llama3[2]-0.003086760967011275) > 1e-15 {
		t.Fatalf("hand computation of the medium frequency is off: %v", llama3[2])
	}

	cases := []struct {
		name string
		s    *ropeScaling
		want []float64
	}{
		{"nil", nil, base},
		{"default", &ropeScaling{Type: "default"}, base},
		{"empty type", &ropeScaling{}, base},
		{"linear 4", &ropeScaling{Type: "linear", Factor: 4}, []float64{0.25, 0.025, 0.0025, 0.00025}},
		{"llama3", &ropeScaling{Type: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 1024}, llama3},
	}
	for _, c := range cases {
		got, err := ropeInvFreq(8, 10000, c.s)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		for i := range c.want {
			if math.Abs(got[i]-c.want[i]) > 1e-15*c.want[i] {
				t.Errorf("%s: inv_freq[%d] = %.17g, want %.17g", c.name, i, got[i], c.want[i])
			}
		}
	}

	// Qwen's theta 1e6 with head_dim 128: the last frequency is 1e6^(−126/128).
	got, err := ropeInvFreq(128, 1e6, nil)
	if err != nil || len(got) != 64 || math.Abs(got[63]-math.Pow(1e6, -126.0/128)) > 1e-20 {
		t.Errorf("theta 1e6: len %d, last %v, err %v", len(got), got[len(got)-1], err)
	}

	for _, c := range []struct {
		name, wantErr string
		hd            int
		s             *ropeScaling
	}{
		{"unknown type", "yarn", 8, &ropeScaling{Type: "yarn", Factor: 4}},
		{"odd head dim", "head_dim 7", 7, nil},
		{"linear factor", "factor", 8, &ropeScaling{Type: "linear", Factor: 0}},
		{"llama3 equal factors", "high_freq_factor", 8, &ropeScaling{Type: "llama3", Factor: 8, LowFreqFactor: 2, HighFreqFactor: 2, OriginalMaxPositions: 8192}},
		{"llama3 no original", "original_max_position_embeddings", 8, &ropeScaling{Type: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4}},
	} {
		_, err := ropeInvFreq(c.hd, 10000, c.s)
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: error %v, want one naming %q", c.name, err, c.wantErr)
		}
	}
}

// TestRopeForwardPositions checks every row of a packed batch against the
// rotate_half formula written out with the angle pos·inv_freq[i], where pos
// restarts at 0 in each sequence (so the first row of each is unchanged).
func TestRopeForwardPositions(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	lens, heads, hd := []int{2, 0, 3, 1}, 2, 6
	half, width := hd/2, heads*hd
	inv, err := ropeInvFreq(hd, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	cos, sin := ropeTables[float64](inv, 4)
	x := randSlice(rng, 6*width)
	y := append([]float64(nil), x...)
	ropeForward(y, lens, heads, hd, cos, sin)
	pos := []int{0, 1, 0, 1, 2, 0}
	for r, p := range pos {
		for h := range heads {
			for i := range half {
				a, b := x[r*width+h*hd+i], x[r*width+h*hd+half+i]
				ang := float64(p) * inv[i]
				w1, w2 := a*math.Cos(ang)-b*math.Sin(ang), b*math.Cos(ang)+a*math.Sin(ang)
				g1, g2 := y[r*width+h*hd+i], y[r*width+h*hd+half+i]
				if math.Abs(g1-w1) > 1e-15 || math.Abs(g2-w2) > 1e-15 {
					t.Errorf("row %d (pos %d) head %d pair %d: got (%v, %v), want (%v, %v)", r, p, h, i, g1, g2, w1, w2)
				}
			}
		}
	}
	ropeBackward(y, lens, heads, hd, cos, sin) // the transpose of a rotation is its inverse
	for i := range x {
		if math.Abs(y[i]-x[i]) > 1e-15 {
			t.Fatalf("backward(forward(x))[%d] = %v, want %v", i, y[i], x[i])
		}
	}
}

// TestRopeGrad checks ropeBackward against finite differences of ropeForward
// over two sequences, with llama3 scaling.
func TestRopeGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	lens, heads, hd := []int{3, 4}, 3, 8
	inv, err := ropeInvFreq(hd, 10000, &ropeScaling{Type: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 16})
	if err != nil {
		t.Fatal(err)
	}
	cos, sin := ropeTables[float64](inv, 8)
	n := 7
	x, r := randSlice(rng, n*heads*hd), randSlice(rng, n*heads*hd)
	y := make([]float64, len(x))
	loss := func() float64 {
		copy(y, x)
		ropeForward(y, lens, heads, hd, cos, sin)
		return dotLoss(y, r)
	}
	dx := append([]float64(nil), r...)
	ropeBackward(dx, lens, heads, hd, cos, sin)
	checkGrad(t, "rope dx", x, dx, loss, gradTol)
}
