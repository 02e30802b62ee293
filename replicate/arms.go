// Package replicate is `rft replicate`: the paper's comparison (PAPER.md)
// run as arms on tailworld, its claims declared and frozen before any arm
// runs, their verdicts computed by code from the run directory alone, and
// the report beside the paper's numbers. It knows the arms, the claims, the
// run directory's layout, the statistics and the report; the command layer
// runs an arm (pools, rubrics, reward models, GRPO, evaluation).
package replicate

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Kind is how an arm gets its policy.
type Kind string

const (
	KindBase      Kind = "base"      // the base policy, evaluated once (the start of every curve)
	KindSFT       Kind = "sft"       // supervised fine-tuning on great responses
	KindBT        Kind = "bt"        // GRPO on a Bradley-Terry reward model
	KindRubric    Kind = "rubric"    // GRPO on a rubric reward (initial or refined)
	KindCorrupted Kind = "corrupted" // GRPO on r* with Mechanism-1 error in one region
)

// Arm is one method of the comparison.
type Arm struct {
	Name  string
	Kind  Kind
	About string
	// Rubric arms: the candidate pool RTD refines on and the pairs it
	// differentiates (0: the initial rubric). One pair is two candidates and
	// one iteration; four pairs are sixteen candidates and four iterations
	// with each used pair dropped, as in the paper.
	Pool  string
	Pairs int
	// BT arms: the reward model's pairs (tailworld:off, tailworld:on+off).
	BTPairs string
	// Corrupted arms: the region that gets the error ("top", "bottom").
	Region  string
	Control bool // a control, not one of the paper's methods
	// Paper is the paper's numbers for the method (PAPER.md); nil where it
	// reports none.
	Paper *PaperRow
}

// PaperRow is one method's numbers in the paper (percent).
type PaperRow struct {
	Generalist, Health *float64 // win-rate vs Qwen3-8B (Table 1): generalist (filtered), health
	High, Low          *float64 // agreement with the judge (Table 2): high- and low-reward pairs
}

func pct(v float64) *float64 { return &v }

// Arm names.
const (
	Base           = "base"
	SFT            = "sft"
	BTOff          = "bt-off"
	BTOnOff        = "bt-on+off"
	Initial        = "initial"
	OneGood        = "1-good"
	OneGreat       = "1-great"
	FourGreat      = "4-great"
	FourGreatDiv   = "4-great-diverse"
	Null           = "null-pool"
	Mech1Top       = "mech1-top"
	Mech1Bottom    = "mech1-bottom"
	poolGood       = "good"
	poolGreat      = "great"
	poolGreatDiv   = "great-diverse"
	poolNull       = "null"
	RegionTop      = "top"
	RegionBottom   = "bottom"
	btOff, btOnOff = "tailworld:off", "tailworld:on+off"
)

// Catalogue is every arm `rft replicate` knows, in report order.
var Catalogue = []Arm{
	{Name: Base, Kind: KindBase, About: "the base policy, untrained", Paper: &PaperRow{Generalist: pct(5.2), Health: pct(10.8)}},
	{Name: SFT, Kind: KindSFT, About: "SFT on great responses (the paper: two Gemini-2.5-Pro responses per prompt)",
		Paper: &PaperRow{Generalist: pct(35.9), Health: pct(25.8)}},
	{Name: BTOff, Kind: KindBT, BTPairs: btOff, About: "GRPO on a Bradley-Terry reward model of off-policy great & diverse pairs",
		Paper: &PaperRow{Health: pct(22.4)}},
	{Name: BTOnOff, Kind: KindBT, BTPairs: btOnOff, About: "GRPO on a Bradley-Terry reward model of on- and off-policy pairs",
		Paper: &PaperRow{Health: pct(30.7)}},
	{Name: Initial, Kind: KindRubric, About: "GRPO on the initial rubric (prompt only)",
		Paper: &PaperRow{Generalist: pct(31.3), Health: pct(21.7), High: pct(40.3), Low: pct(66.2)}},
	{Name: OneGood, Kind: KindRubric, Pool: poolGood, Pairs: 1, About: "rubric refined on 1 good pair",
		Paper: &PaperRow{Generalist: pct(33.5), Health: pct(22.4), High: pct(42.2)}},
	{Name: OneGreat, Kind: KindRubric, Pool: poolGreat, Pairs: 1, About: "rubric refined on 1 great pair",
		Paper: &PaperRow{Generalist: pct(36.8), Health: pct(26.5), High: pct(45.8)}},
	{Name: FourGreat, Kind: KindRubric, Pool: poolGreat, Pairs: 4, About: "rubric refined on 4 great pairs",
		Paper: &PaperRow{Generalist: pct(38.7), Health: pct(31.4), High: pct(49.2)}},
	{Name: FourGreatDiv, Kind: KindRubric, Pool: poolGreatDiv, Pairs: 4, About: "rubric refined on 4 great & diverse pairs",
		Paper: &PaperRow{Generalist: pct(39.7), Health: pct(34.4), High: pct(47.9), Low: pct(69.8)}},
	{Name: Null, Kind: KindRubric, Pool: poolNull, Pairs: 4, Control: true,
		About: "control: rubric refined on 4 null pairs (great responses without tail differences)"},
	{Name: Mech1Top, Kind: KindCorrupted, Region: RegionTop, Control: true,
		About: "control: GRPO on r* with error in the top 10% of base samples"},
	{Name: Mech1Bottom, Kind: KindCorrupted, Region: RegionBottom, Control: true,
		About: "control: GRPO on r* with the same mean squared error in the bottom 90%"},
}

// Lookup finds an arm of the catalogue by name.
func Lookup(name string) (Arm, bool) {
	i := slices.IndexFunc(Catalogue, func(a Arm) bool { return a.Name == name })
	if i < 0 {
		return Arm{}, false
	}
	return Catalogue[i], true
}

// Names lists the catalogue's arm names.
func Names() []string {
	out := make([]string, len(Catalogue))
	for i, a := range Catalogue {
		out[i] = a.Name
	}
	return out
}

// PoolSize is the candidates a rubric arm's RTD sees: two per pair.
func (a Arm) PoolSize() int {
	if a.Pairs == 1 {
		return 2
	}
	return 4 * a.Pairs
}

// Trains says whether the arm runs GRPO.
func (a Arm) Trains() bool {
	return a.Kind == KindBT || a.Kind == KindRubric || a.Kind == KindCorrupted
}

// Probed says whether the arm's reward goes through the reward-accuracy
// probe (rubrics and reward models; r* itself would agree by construction).
func (a Arm) Probed() bool { return a.Kind == KindBT || a.Kind == KindRubric }

// sharedPrefixes are the settings every arm must share: what makes the arms
// comparable (the paper trains every method with the same GRPO settings).
var sharedPrefixes = []string{"seed", "train.", "grpo.", "rollout.", "eval.", "checkpoint.", "model.", "data."}

// CheckArms validates the arm list and the per-arm overrides: an unknown
// arm (or an override of one that is not run), an arm listed twice, or an
// override of a shared setting. Each error starts with the key at fault
// (replicate.arms[i], replicate.overrides.ARM), so the config loader names
// the file and line.
func CheckArms(arms []string, overrides map[string][]string) error {
	var errs []string
	if len(arms) == 0 {
		errs = append(errs, fmt.Sprintf("replicate.arms: give at least one arm (known arms: %s)", strings.Join(Names(), ", ")))
	}
	seen := map[string]bool{}
	for i, name := range arms {
		if _, ok := Lookup(name); !ok {
			errs = append(errs, fmt.Sprintf("replicate.arms[%d]: unknown arm %q (known arms: %s)", i, name, strings.Join(Names(), ", ")))
		} else if seen[name] {
			errs = append(errs, fmt.Sprintf("replicate.arms[%d]: arm %q is listed twice", i, name))
		}
		seen[name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(overrides)) {
		if !seen[name] {
			errs = append(errs, fmt.Sprintf("replicate.overrides.%s: %q is not an arm of replicate.arms", name, name))
			continue
		}
		for _, set := range overrides[name] {
			key, _, ok := strings.Cut(set, "=")
			key = strings.TrimSpace(key)
			if !ok || key == "" {
				errs = append(errs, fmt.Sprintf("replicate.overrides.%s: %q is not key=value", name, set))
				continue
			}
			for _, p := range sharedPrefixes {
				if key == strings.TrimSuffix(p, ".") || strings.HasPrefix(key, p) {
					errs = append(errs, fmt.Sprintf("replicate.overrides.%s: %s: arms must share the GRPO settings (seed, train, grpo, rollout, eval, checkpoint, model, data); arm %q sets %s while the others use the shared value",
						name, key, name, set))
				}
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return joinLines(errs)
}

func joinLines(msgs []string) error {
	errs := make([]error, len(msgs))
	for i, m := range msgs {
		errs[i] = errors.New(m)
	}
	// errors.Join keeps each one separate: the config loader locates each.
	return errors.Join(errs...)
}
