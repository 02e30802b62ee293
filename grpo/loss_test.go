package grpo

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestLossHandComputed: one sequence of two tokens with ratios 1.1 and 1.5 (or 4 and 2), one row per option.
func TestLossHandComputed(t *testing.T) {
	old := []float64{-1, -2}
	lp := func(r0, r1 float64) []float64 { return []float64{-1 + math.Log(r0), -2 + math.Log(r1)} }
	base := Config{LossType: LossGRPO, EpsilonLow: 0.2, EpsilonHigh: 0.28, ImportanceLevel: LevelToken,
		KLEstimator: KLK1, KLIn: KLInLoss, MaxCompletionLen: 4}
	with := func(f func(*Config)) Config { c := base; f(&c); return c }
	s := math.Sqrt(1.1 * 1.5) // GSPO: geometric mean of the token ratios = 1.2845
	k3, dk3 := math.Exp(-0.5)-0.5, 1-math.Exp(-0.5)
	tests := []struct {
		name   string
		cfg    Config
		logp   []float64
		adv    float64
		ref    []float64 // nil: no reference
		is     []float64
		loss   float64
		grad   []float64
		policy float64
	}{
		// ℓ = [−2·1.1, −1.28·2 (clipped high)], mean over 2 tokens; dℓ/dlogp_0 = −A·r_0 / 2.
		{"grpo token", base, lp(1.1, 1.5), 2, nil, nil, (-2.2 - 2.56) / 2, []float64{-1.1, 0}, (-2.2 - 2.56) / 2},
		{"bnpo token", with(func(c *Config) { c.LossType = LossBNPO }), lp(1.1, 1.5), 2, nil, nil, (-2.2 - 2.56) / 2, []float64{-1.1, 0}, (-2.2 - 2.56) / 2},
		{"dapo token", with(func(c *Config) { c.LossType = LossDAPO }), lp(1.1, 1.5), 2, nil, nil, (-2.2 - 2.56) / 2, []float64{-1.1, 0}, (-2.2 - 2.56) / 2},
		// dr_grpo divides the sum by 1 sequence × max completion length 4.
		{"dr_grpo token", with(func(c *Config) { c.LossType = LossDrGRPO }), lp(1.1, 1.5), 2, nil, nil, (-2.2 - 2.56) / 4, []float64{-0.55, 0}, (-2.2 - 2.56) / 4},
		// ε_high = 0.5: nothing clipped.
		{"clip-higher off", with(func(c *Config) { c.EpsilonHigh = 0.5 }), lp(1.1, 1.5), 2, nil, nil, (-2.2 - 3) / 2, []float64{-1.1, -1.5}, (-2.2 - 3) / 2},
		// GSPO: s = √(1.1·1.5) = 1.2845 < 1.3, ℓ = −2s for the sequence; d s/d logp_t = s/2.
		{"sequence", with(func(c *Config) { c.ImportanceLevel = LevelSequence; c.EpsilonHigh = 0.3 }), lp(1.1, 1.5), 2, nil, nil, -2 * s, []float64{-s, -s}, -2 * s},
		{"sequence clipped", with(func(c *Config) { c.ImportanceLevel = LevelSequence }), lp(1.1, 1.5), 2, nil, nil, -2.56, []float64{0, 0}, -2.56},
		// Dual clip c = 3, A = −1: ℓ = [min(4, 3), 2].
		{"dual-clip", with(func(c *Config) { c.DualClip = 3 }), lp(4, 2), -1, nil, nil, 2.5, []float64{0, 1}, 2.5},
		{"no dual-clip", base, lp(4, 2), -1, nil, nil, 3, []float64{2, 1}, 3},
		// KL with d = logp − ref = 0.5 at both tokens, β = 0.1, added per token then averaged.
		{"k1 in loss", with(func(c *Config) { c.Beta = 0.1 }), lp(1.1, 1.5), 2, []float64{-1.5 + math.Log(1.1), -2.5 + math.Log(1.5)}, nil,
			(-2.2-2.56)/2 + 0.1*0.5, []float64{-1.1 + 0.05, 0.05}, (-2.2 - 2.56) / 2},
		{"k2 in loss", with(func(c *Config) { c.Beta = 0.1; c.KLEstimator = KLK2 }), lp(1.1, 1.5), 2, []float64{-1.5 + math.Log(1.1), -2.5 + math.Log(1.5)}, nil,
			(-2.2-2.56)/2 + 0.1*0.125, []float64{-1.1 + 0.025, 0.025}, (-2.2 - 2.56) / 2},
		{"k3 in loss", with(func(c *Config) { c.Beta = 0.1; c.KLEstimator = KLK3 }), lp(1.1, 1.5), 2, []float64{-1.5 + math.Log(1.1), -2.5 + math.Log(1.5)}, nil,
			(-2.2-2.56)/2 + 0.1*k3, []float64{-1.1 + 0.05*dk3, 0.05 * dk3}, (-2.2 - 2.56) / 2},
		// KL weighted by the ratio: β·r_t·KL_t, d/dlogp = β·r_t·(KL_t + dKL_t).
		{"k1 ratio-weighted", with(func(c *Config) { c.Beta = 0.1; c.KLImportanceWeighted = true }), lp(1.1, 1.5), 2, []float64{-1.5 + math.Log(1.1), -2.5 + math.Log(1.5)}, nil,
			(-2.2-2.56)/2 + 0.1*(1.1+1.5)*0.5/2, []float64{-1.1 + 0.05*1.1*1.5, 0.05 * 1.5 * 1.5}, (-2.2 - 2.56) / 2},
		{"KL in reward", with(func(c *Config) { c.Beta = 0.1; c.KLIn = KLInReward }), lp(1.1, 1.5), 2, []float64{-1.5 + math.Log(1.1), -2.5 + math.Log(1.5)}, nil,
			(-2.2 - 2.56) / 2, []float64{-1.1, 0}, (-2.2 - 2.56) / 2},
		// IS weights multiply the policy term only.
		{"IS weights", base, lp(1.1, 1.5), 2, nil, []float64{0.5, 1}, (-1.1 - 2.56) / 2, []float64{-0.55, 0}, (-1.1 - 2.56) / 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Loss(tc.cfg, Inputs{LogP: tc.logp, OldLogP: old, RefLogP: tc.ref, Advantages: []float64{tc.adv}, Lens: []int{2}, ISWeights: tc.is})
			if err != nil {
				t.Fatal(err)
			}
			if !approx(res.Loss, tc.loss, 1e-14, 1e-15) {
				t.Errorf("loss = %.16g, want %.16g", res.Loss, tc.loss)
			}
			if !approx(res.Stats.PolicyLoss, tc.policy, 1e-14, 1e-15) {
				t.Errorf("policy loss = %.16g, want %.16g", res.Stats.PolicyLoss, tc.policy)
			}
			assertSlice(t, "grad", res.Grad, tc.grad, 1e-14)
		})
	}
}

func TestLossStats(t *testing.T) {
	// Token ratios 0.5 (A<0: low), 1.5 (A>0: high), 1.0, 4 (A<0, c = 3: dual); the 5th token masked.
	old := []float64{-1, -1, -1, -1, -1}
	lp := []float64{-1 + math.Log(0.5), -1 + math.Log(1.5), -1, -1 + math.Log(4), 7}
	cfg := Config{LossType: LossGRPO, EpsilonLow: 0.2, EpsilonHigh: 0.28, DualClip: 3, ImportanceLevel: LevelToken,
		KLEstimator: KLK1, Beta: 0.1, KLIn: KLInLoss}
	ref := []float64{-1, -1, -1, -1, -1}
	res, err := Loss(cfg, Inputs{LogP: lp, OldLogP: old, RefLogP: ref, Advantages: []float64{-1, 1, -1},
		Mask: []bool{true, true, true, true, false}, Lens: []int{1, 2, 2}, ISWeights: []float64{1, 0.5, 1, 1, 0}})
	if err != nil {
		t.Fatal(err)
	}
	st := res.Stats
	want := Stats{Tokens: 4, Sequences: 3, ClipLow: 0.25, ClipHigh: 0.25, ClipDual: 0.25, RatioMean: (0.5 + 1.5 + 1 + 4) / 4,
		RatioMin: 0.5, RatioMax: 4, ISWeightMin: 0.5, KLMean: (math.Log(0.5) + math.Log(1.5) + math.Log(4)) / 4}
	want.KLLoss = res.Loss - st.PolicyLoss
	for _, f := range []struct {
		name      string
		got, want float64
	}{
		{"Tokens", float64(st.Tokens), float64(want.Tokens)}, {"Sequences", float64(st.Sequences), 3},
		{"ClipLow", st.ClipLow, want.ClipLow}, {"ClipHigh", st.ClipHigh, want.ClipHigh}, {"ClipDual", st.ClipDual, want.ClipDual},
		{"RatioMean", st.RatioMean, want.RatioMean}, {"RatioMin", st.RatioMin, 0.5}, {"RatioMax", st.RatioMax, 4},
		{"ISWeightMin", st.ISWeightMin, 0.5}, {"KLMean", st.KLMean, want.KLMean}, {"KLLoss", st.KLLoss, want.KLLoss},
	} {
		if !approx(f.got, f.want, 1e-14, 1e-15) {
			t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
	}
}

// fdCase is a random packed batch whose ratios stay away from every clip boundary, so that the loss is smooth
// within the finite-difference step.
func fdCase(rng *rand.Rand, cfg Config, withIS bool) Inputs {
	lens := []int{5, 1, 4, 0, 6, 3}
	n := 0
	for _, l := range lens {
		n += l
	}
	in := Inputs{LogP: make([]float64, n), OldLogP: make([]float64, n), RefLogP: make([]float64, n),
		Mask: make([]bool, n), Lens: lens, Advantages: make([]float64, len(lens))}
	for i := range in.Advantages {
		in.Advantages[i] = rng.NormFloat64()
	}
	for t := range n {
		in.OldLogP[t] = -0.1 - 3*rng.Float64()
		in.LogP[t] = in.OldLogP[t] + 2.4*(rng.Float64()-0.5)
		in.RefLogP[t] = in.LogP[t] + 0.5*rng.NormFloat64()
		in.Mask[t] = rng.Float64() < 0.85
	}
	if withIS {
		in.ISWeights = make([]float64, n)
		for t := range in.ISWeights {
			in.ISWeights[t] = 0.5 + rng.Float64()
		}
	}
	bounds := []float64{math.Log(1 - cfg.EpsilonLow), math.Log(1 + cfg.EpsilonHigh), math.Log(3)}
	near := func(x float64) bool {
		for _, b := range bounds {
			if math.Abs(x-b) < 1e-3 {
				return true
			}
		}
		return false
	}
	for t := range n { // token level
		for near(in.LogP[t] - in.OldLogP[t]) {
			in.LogP[t] += 0.01
		}
	}
	for { // sequence level
		moved := false
		for i, lr := range SequenceLogRatios(in.LogP, in.OldLogP, in.Mask, lens) {
			if near(lr) {
				start := 0
				for _, l := range lens[:i] {
					start += l
				}
				for t := start; t < start+lens[i]; t++ {
					in.OldLogP[t] -= 0.01 // shifts s_i; token ratios move by 0.01 too, far from the 1e-3 band
				}
				moved = true
			}
		}
		if !moved {
			break
		}
	}
	return in
}

// TestLossGradFiniteDiff checks Grad against float64 central differences of Loss for every loss type × importance
// level × KL estimator × β × dual-clip × ratio-weighted KL × KL placement × IS weights.
func TestLossGradFiniteDiff(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const h = 1e-4 // 2h stays inside fdCase's 1e-3 margin around every clip boundary
	count, worst := 0, 0.0
	for _, lt := range []LossType{LossGRPO, LossBNPO, LossDrGRPO, LossDAPO} {
		for _, level := range []ImportanceLevel{LevelToken, LevelSequence} {
			for _, est := range []KLEstimator{KLK1, KLK2, KLK3} {
				for _, beta := range []float64{0, 0.3} {
					for _, dual := range []float64{0, 3} {
						for _, klw := range []bool{false, true} {
							for _, klIn := range []KLPlacement{KLInLoss, KLInReward} {
								if (beta == 0 && (est != KLK3 || klw || klIn != KLInLoss)) || (klIn == KLInReward && klw) {
									continue // the option has no effect there; its combinations are covered elsewhere
								}
								for _, withIS := range []bool{false, true} {
									cfg := Config{LossType: lt, EpsilonLow: 0.2, EpsilonHigh: 0.28, DualClip: dual,
										ImportanceLevel: level, KLEstimator: est, Beta: beta, KLIn: klIn,
										KLImportanceWeighted: klw, MaxCompletionLen: 8}
									name := fmt.Sprintf("%s/%s/%s/beta%g/dual%g/klw%v/%s/is%v", lt, level, est, beta, dual, klw, klIn, withIS)
									in := fdCase(rng, cfg, withIS)
									worst = max(worst, checkGrad(t, name, cfg, in, h))
									count++
								}
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d configurations, worst relative gradient error %.2g", count, worst)
}

// checkGrad returns max_t |g_t − fd_t| / max_t |fd_t| and fails above 1e-7.
func checkGrad(t *testing.T, name string, cfg Config, in Inputs, h float64) float64 {
	t.Helper()
	res, err := Loss(cfg, in)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
		return 0
	}
	x := append([]float64(nil), in.LogP...)
	in.LogP = x
	fd := make([]float64, len(x))
	scale := 0.0
	at := func(i int, dx float64) float64 {
		x0 := x[i]
		x[i] = x0 + dx
		r, _ := Loss(cfg, in)
		x[i] = x0
		return r.Loss
	}
	for i := range x {
		// Five-point central difference: error O(h⁴) + rounding O(ε/h), ~1e-11 relative here.
		fd[i] = (8*(at(i, h)-at(i, -h)) - (at(i, 2*h) - at(i, -2*h))) / (12 * h)
		scale = max(scale, math.Abs(fd[i]))
	}
	worst := 0.0
	for i := range fd {
		worst = max(worst, math.Abs(res.Grad[i]-fd[i])/scale)
		if !on(in.Mask, i) && res.Grad[i] != 0 {
			t.Errorf("%s: masked token %d has gradient %v", name, i, res.Grad[i])
		}
	}
	if scale == 0 || worst > 1e-7 {
		t.Errorf("%s: max relative gradient error %.3g (scale %.3g)", name, worst, scale)
	}
	return worst
}

// TestLossMicroBatches: splitting a step into micro-batches and summing gives the loss and gradients of the whole
// step for grpo, dr_grpo and dapo (given Step), and TRL's mean of local means for bnpo.
func TestLossMicroBatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, lt := range []LossType{LossGRPO, LossBNPO, LossDrGRPO, LossDAPO} {
		for _, level := range []ImportanceLevel{LevelToken, LevelSequence} {
			cfg := Config{LossType: lt, EpsilonLow: 0.2, EpsilonHigh: 0.28, DualClip: 3, ImportanceLevel: level,
				KLEstimator: KLK3, Beta: 0.04, KLIn: KLInLoss, MaxCompletionLen: 8}
			full := fdCase(rng, cfg, true)
			whole, err := Loss(cfg, full)
			if err != nil {
				t.Fatal(err)
			}
			step := Step{Sequences: len(full.Lens), Tokens: whole.Stats.Tokens, MicroBatches: 3}
			var sum, localMeans float64
			var grad []float64
			seq, tok := 0, 0
			for _, k := range []int{2, 3, 1} { // sequences per micro-batch
				lens := full.Lens[seq : seq+k]
				n := 0
				for _, l := range lens {
					n += l
				}
				part := Inputs{LogP: full.LogP[tok : tok+n], OldLogP: full.OldLogP[tok : tok+n], RefLogP: full.RefLogP[tok : tok+n],
					Mask: full.Mask[tok : tok+n], ISWeights: full.ISWeights[tok : tok+n], Lens: lens,
					Advantages: full.Advantages[seq : seq+k], Step: step}
				res, err := Loss(cfg, part)
				if err != nil {
					t.Fatal(err)
				}
				sum += res.Loss
				grad = append(grad, res.Grad...)
				part.Step = Step{}
				local, _ := Loss(cfg, part)
				localMeans += local.Loss / 3
				seq, tok = seq+k, tok+n
			}
			name := fmt.Sprintf("%s/%s", lt, level)
			if lt == LossBNPO {
				if !approx(sum, localMeans, 1e-13, 1e-15) {
					t.Errorf("%s: micro-batch sum %v, want the mean of local means %v", name, sum, localMeans)
				}
				if approx(sum, whole.Loss, 1e-6, 0) {
					t.Errorf("%s: micro-batch sum equals the whole-batch mean; the test split should tell them apart", name)
				}
				continue
			}
			if !approx(sum, whole.Loss, 1e-13, 1e-15) {
				t.Errorf("%s: micro-batches sum to %.16g, the whole step is %.16g", name, sum, whole.Loss)
			}
			for i := range grad {
				if !approx(grad[i], whole.Grad[i], 1e-13, 1e-16) {
					t.Errorf("%s: grad[%d] = %v from micro-batches, %v whole", name, i, grad[i], whole.Grad[i])
				}
			}
		}
	}
}

// TestLossOnPolicy: OldLogP nil is π_old = stop_gradient(π_θ): ratio 1, gradient −A·w per token.
func TestLossOnPolicy(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, level := range []ImportanceLevel{LevelToken, LevelSequence} {
		cfg := DefaultConfig()
		cfg.ImportanceLevel = level
		in := fdCase(rng, cfg, false)
		in.OldLogP = append([]float64(nil), in.LogP...)
		want, err := Loss(cfg, in)
		if err != nil {
			t.Fatal(err)
		}
		in.OldLogP = nil
		got, err := Loss(cfg, in)
		if err != nil {
			t.Fatal(err)
		}
		if got.Loss != want.Loss || got.Stats.RatioMean != 1 {
			t.Errorf("%s: on-policy loss %v (ratio mean %v), with π_old = π_θ %v", level, got.Loss, got.Stats.RatioMean, want.Loss)
		}
		assertSlice(t, string(level)+" grad", got.Grad, want.Grad, 0)
	}
}

func TestLossErrors(t *testing.T) {
	good := Inputs{LogP: []float64{-1, -2, -3}, OldLogP: []float64{-1, -2, -3}, RefLogP: []float64{-1, -2, -3},
		Advantages: []float64{1, -1}, Lens: []int{2, 1}}
	cfg := DefaultConfig()
	if _, err := Loss(cfg, good); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(*Inputs, *Config)
		want   string
	}{
		{"lens", func(in *Inputs, _ *Config) { in.Lens = []int{2, 2} }, "lens add up to 4"},
		{"negative len", func(in *Inputs, _ *Config) { in.Lens = []int{4, -1} }, "negative"},
		{"advantages", func(in *Inputs, _ *Config) { in.Advantages = []float64{1} }, "1 advantages for 2 sequences"},
		{"mask", func(in *Inputs, _ *Config) { in.Mask = []bool{true} }, "mask has 1 entries"},
		{"old", func(in *Inputs, _ *Config) { in.OldLogP = []float64{-1} }, "OldLogP has 1 entries"},
		{"no reference with β > 0", func(in *Inputs, _ *Config) { in.RefLogP = nil }, "RefLogP has 0 entries"},
		{"IS weights", func(in *Inputs, _ *Config) { in.ISWeights = []float64{1} }, "ISWeights has 1 entries"},
		{"config", func(_ *Inputs, c *Config) { c.LossType = "ppo" }, "grpo.loss_type"},
	}
	for _, tc := range tests {
		in, c := good, cfg
		tc.mutate(&in, &c)
		_, err := Loss(c, in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	// Without β, or with the KL in the reward, no reference is needed.
	for _, f := range []func(*Config){func(c *Config) { c.Beta = 0 }, func(c *Config) { c.KLIn = KLInReward }} {
		in, c := good, cfg
		in.RefLogP = nil
		f(&c)
		if _, err := Loss(c, in); err != nil {
			t.Errorf("no reference needed: %v", err)
		}
	}
	if _, err := Loss(cfg, Inputs{LogP: []float64{1}, Lens: []int{2}, Advantages: []float64{0}}); !errors.Is(err, errLayout) {
		t.Errorf("layout error does not wrap errLayout: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // "" means valid
	}{
		{"dapo clip-higher", func(c *Config) { c.LossType = LossDAPO; c.EpsilonHigh = 0.28 }, ""},
		{"loss type", func(c *Config) { c.LossType = "ppo" }, `grpo.loss_type "ppo"`},
		{"epsilon low", func(c *Config) { c.EpsilonLow = 1 }, "grpo.epsilon_low"},
		{"epsilon high", func(c *Config) { c.EpsilonHigh = -0.1 }, "grpo.epsilon_high"},
		{"epsilon NaN", func(c *Config) { c.EpsilonHigh = math.NaN() }, "grpo.epsilon_high"},
		{"dual clip", func(c *Config) { c.DualClip = 0.9 }, "grpo.dual_clip"},
		{"importance level", func(c *Config) { c.ImportanceLevel = "group" }, "grpo.importance_level"},
		{"kl estimator", func(c *Config) { c.KLEstimator = "k4" }, "grpo.kl_estimator"},
		{"beta", func(c *Config) { c.Beta = -0.01 }, "grpo.beta"},
		{"kl in", func(c *Config) { c.KLIn = "advantage" }, "grpo.kl_in"},
		{"dr_grpo length", func(c *Config) { c.LossType = LossDrGRPO; c.MaxCompletionLen = 0 }, "grpo.max_completion_len"},
	}
	for _, tc := range tests {
		c := DefaultConfig()
		tc.mutate(&c)
		err := c.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}
