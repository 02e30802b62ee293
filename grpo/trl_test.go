package grpo

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// trlLosses is testdata/grpo/trl_losses.json, written by compat/make_grpo_fixtures.py from TRL's
// GRPOTrainer._compute_loss (float64, torch autograd).
type trlLosses struct {
	Versions            map[string]string `json:"versions"`
	MaxCompletionLength int               `json:"max_completion_length"`
	Inputs              struct {
		Mask       [][]int     `json:"completion_mask"`
		New        [][]float64 `json:"new_logps"`
		Old        [][]float64 `json:"old_logps"`
		Ref        [][]float64 `json:"ref_logps"`
		Sampling   [][]float64 `json:"sampling_logps"`
		Advantages []float64   `json:"advantages"`
	} `json:"inputs"`
	Cases []struct {
		Name           string   `json:"name"`
		LossType       string   `json:"loss_type"`
		Level          string   `json:"importance_sampling_level"`
		EpsilonLow     float64  `json:"epsilon_low"`
		EpsilonHigh    float64  `json:"epsilon_high"`
		Beta           float64  `json:"beta"`
		Delta          *float64 `json:"delta"`
		BiasCorrection bool     `json:"use_bias_correction_kl"`
		OnPolicy       bool     `json:"on_policy"`
		ISMode         *string  `json:"is_mode"`
		ISMin          *float64 `json:"is_min"`
		ISMax          *float64 `json:"is_max"`
		GradAccumSteps int      `json:"gradient_accumulation_steps"`
		MicroBatches   [][2]int `json:"micro_batches"`
		TRL            struct {
			Loss     []float64   `json:"loss"`
			Grad     [][]float64 `json:"grad"`
			ClipLow  *float64    `json:"clip_low_mean"`
			ClipHigh *float64    `json:"clip_high_mean"`
			KL       *float64    `json:"kl"`
			ISRatio  [][]float64 `json:"importance_sampling_ratio"`
		} `json:"trl"`
	} `json:"cases"`
}

func loadJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "grpo", name))
	if err != nil {
		t.Fatalf("%v (regenerate with compat/.venv/bin/python compat/make_grpo_fixtures.py)", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// flat packs rows [lo, hi) of a padded [B][T] tensor.
func flat(rows [][]float64, lo, hi int) []float64 {
	var out []float64
	for _, r := range rows[lo:hi] {
		out = append(out, r...)
	}
	return out
}

// TestTRLGolden requires Loss to give TRL's loss and d loss / d new_logps (1e-6 relative) for every loss type both
// implement, token and sequence importance, β = 0 and β > 0, dual-clip (TRL delta), ratio-weighted KL
// (use_bias_correction_kl), on-policy, the four importance-sampling correction modes and two micro-batches.
func TestTRLGolden(t *testing.T) {
	var fx trlLosses
	loadJSON(t, "trl_losses.json", &fx)
	if fx.Versions["trl"] == "" || len(fx.Cases) < 16 {
		t.Fatalf("fixture without a TRL version or with %d cases", len(fx.Cases))
	}
	x := fx.Inputs
	B, T := len(x.New), len(x.New[0])
	var mask []bool
	totalTokens := 0
	for _, row := range x.Mask {
		for _, m := range row {
			mask = append(mask, m == 1)
			totalTokens += m
		}
	}
	for _, c := range fx.Cases {
		t.Run(c.Name, func(t *testing.T) {
			cfg := Config{LossType: LossType(c.LossType), EpsilonLow: c.EpsilonLow, EpsilonHigh: c.EpsilonHigh,
				ImportanceLevel: ImportanceLevel(c.Level), KLEstimator: KLK3, Beta: c.Beta, KLIn: KLInLoss,
				KLImportanceWeighted: c.BiasCorrection, MaxCompletionLen: fx.MaxCompletionLength}
			if c.Delta != nil {
				cfg.DualClip = *c.Delta
			}
			micro := c.MicroBatches
			if micro == nil {
				micro = [][2]int{{0, B}}
			}
			var is []float64
			if c.ISMode != nil {
				lo, hi := 0.0, math.Inf(1)
				if c.ISMin != nil {
					lo = *c.ISMin
				}
				if c.ISMax != nil {
					hi = *c.ISMax
				}
				lens := make([]int, B)
				for i := range lens {
					lens[i] = T
				}
				var err error
				is, err = ISCorrection(ISMode(*c.ISMode), flat(x.Old, 0, B), flat(x.Sampling, 0, B), mask, lens, lo, hi)
				if err != nil {
					t.Fatal(err)
				}
				assertSlice(t, "importance_sampling_ratio", is, flat(c.TRL.ISRatio, 0, B), 1e-12)
			}
			var grad []float64
			for k, mb := range micro {
				lo, hi := mb[0], mb[1]
				lens := make([]int, hi-lo)
				for i := range lens {
					lens[i] = T
				}
				in := Inputs{LogP: flat(x.New, lo, hi), OldLogP: flat(x.Old, lo, hi), RefLogP: flat(x.Ref, lo, hi),
					Advantages: x.Advantages[lo:hi], Mask: mask[lo*T : hi*T], Lens: lens}
				if c.OnPolicy {
					in.OldLogP = nil
				}
				if is != nil {
					in.ISWeights = is[lo*T : hi*T]
				}
				if len(micro) > 1 {
					// TRL divides grpo, bnpo and dr_grpo by gradient_accumulation_steps and dapo by the tokens of
					// the generation batch; with equal micro-batches that is exactly Step.
					in.Step = Step{Sequences: B, Tokens: totalTokens, MicroBatches: c.GradAccumSteps}
				}
				res, err := Loss(cfg, in)
				if err != nil {
					t.Fatal(err)
				}
				if !approx(res.Loss, c.TRL.Loss[k], 1e-6, 1e-12) {
					t.Errorf("micro-batch %d: loss %.16g, TRL %.16g", k, res.Loss, c.TRL.Loss[k])
				}
				grad = append(grad, res.Grad...)
				if len(micro) == 1 {
					st := res.Stats
					if c.TRL.ClipLow != nil && !approx(st.ClipLow, *c.TRL.ClipLow, 1e-6, 1e-7) {
						t.Errorf("clip low %v, TRL %v", st.ClipLow, *c.TRL.ClipLow)
					}
					if c.TRL.ClipHigh != nil && !approx(st.ClipHigh, *c.TRL.ClipHigh, 1e-6, 1e-7) {
						t.Errorf("clip high %v, TRL %v", st.ClipHigh, *c.TRL.ClipHigh)
					}
					if c.TRL.KL != nil && !c.BiasCorrection && !approx(st.KLMean, *c.TRL.KL, 1e-6, 1e-12) {
						t.Errorf("mean KL %v, TRL %v", st.KLMean, *c.TRL.KL)
					}
				}
			}
			assertSlice(t, "grad", grad, flat(c.TRL.Grad, 0, B), 1e-6)
		})
	}
}

// TestTRLAdvantagesGolden: advantages for scale_rewards group|batch|none as TRL computes them (ε = 1e-4, unbiased
// std), the uniform group dynamic sampling drops, and TRL's soft overlong punishment.
func TestTRLAdvantagesGolden(t *testing.T) {
	var fx struct {
		Versions   map[string]string    `json:"versions"`
		GroupSize  int                  `json:"group_size"`
		Epsilon    float64              `json:"epsilon"`
		Rewards    []float64            `json:"rewards"`
		Advantages map[string][]float64 `json:"advantages"`
		Overlong   struct {
			MaxLen  int       `json:"max_completion_len"`
			Cache   int       `json:"soft_punish_cache"`
			Lengths []int     `json:"lengths"`
			Penalty []float64 `json:"penalty"`
		} `json:"overlong"`
	}
	loadJSON(t, "trl_advantages.json", &fx)
	if fx.Versions["trl"] == "" || len(fx.Advantages) != 3 {
		t.Fatalf("fixture without a TRL version or with %d scalings", len(fx.Advantages))
	}
	for scale, want := range fx.Advantages {
		got, err := GroupAdvantages(fx.Rewards, fx.GroupSize, Scaling(scale), fx.Epsilon)
		if err != nil {
			t.Fatal(err)
		}
		// 1e-7, not 1e-12: TRL's nanstd computes Bessel's factor count/(count−1) from integer tensors, which torch
		// divides in float32 (4/3 → 1.3333333731), so its float64 std is off by ~1.5e-8 relative; rft's is exact.
		assertSlice(t, scale, got, want, 1e-7)
	}
	uniform, _ := UniformGroups(fx.Rewards, fx.GroupSize)
	for g, u := range uniform {
		if u != (g == 1) {
			t.Errorf("group %d uniform = %v", g, u)
		}
	}
	for i, l := range fx.Overlong.Lengths {
		if got := OverlongPenalty(l, fx.Overlong.MaxLen, fx.Overlong.Cache); got != fx.Overlong.Penalty[i] {
			t.Errorf("overlong penalty at length %d: %v, TRL %v", l, got, fx.Overlong.Penalty[i])
		}
	}
}
