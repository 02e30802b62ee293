package oracle

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/rft-dev/rft/tasks/tailworld"
	"github.com/rft-dev/rft/tasks/tailworld/sim"
)

// TestReplicationProbe prints, per arm, the rubric sizes, the criteria that
// coincide with gold tail criteria, the style criteria, and the win-rate
// against the reference of best-of-16 base samples under the arm's rubric (a
// cheap stand-in for KL-regularised RL, which tilts the base distribution
// toward the reward). It takes about a minute: TAILWORLD_PROBE=1 runs it.
func TestReplicationProbe(t *testing.T) {
	if os.Getenv("TAILWORLD_PROBE") == "" {
		t.Skip("set TAILWORLD_PROBE=1 to run the replication probe")
	}
	w := tailworld.NewWorld(1, tailworld.DefaultEntities)
	prop, ver := sim.NewProposer(1), sim.NewVerifier(1, 0)
	base := tailworld.Personas()["base"]
	prompts := w.Prompts(tailworld.Train, 0, 150)
	type arm struct {
		name  string
		pool  string
		iters int
	}
	arms := []arm{{"initial", "", 0}, {"1 good", tailworld.PoolGood, 1}, {"1 great", tailworld.PoolGreat, 1}, {"4 good", tailworld.PoolGood, 4}, {"4 great", tailworld.PoolGreat, 4},
		{"4 great&div", tailworld.PoolGreatDiverse, 4}, {"4 null", tailworld.PoolNull, 4}}
	for _, a := range arms {
		var tailKeys, artKeys, total int
		fams := map[string]int{}
		wins := 0.0
		for _, p := range prompts {
			r := initialRubric(t, p, prop)
			if a.iters > 0 {
				pool, err := w.CandidatePool(p, a.pool, 16)
				if err != nil {
					t.Fatal(err)
				}
				r = refine(t, p, r, pool, a.iters, prop, ver)
			}
			for _, c := range r.Criteria {
				k, _ := sim.KeyOf(c.Text)
				total++
				if goldTailKey(p.Request, k) {
					tailKeys++
					fams[k.Family()]++
				}
				if k == "filter_strict" || k == "facts_strict" {
					fams["strict"]++
				}
				switch k.Family() {
				case "sure", "welcome", "offer_help", "numbered", "no_exclaim", "bold", "remark", "kind", "intro":
					artKeys++
				}
			}
			// best of 16 base samples under the rubric, against the reference
			bestS, best := -1.0, ""
			for k := 0; k < 16; k++ {
				s, _ := tailworld.Respond(p.Text, base, 99, k)
				if v := rubricScore(t, ver, r, s); v > bestS {
					bestS, best = v, s
				}
			}
			ref, _ := w.ReferenceResponse(p.Text)
			v, _ := Judge{}.Compare(context.Background(), p.Text, best, ref)
			wins += float64(v+1) / 2
		}
		fmt.Printf("%-12s crit/prompt=%.2f goldtail/prompt=%.2f style/prompt=%.2f bo16 win=%.3f\n", a.name, float64(total)/150, float64(tailKeys)/150, float64(artKeys)/150, wins/150)
		fmt.Println("   ", fams)
	}
}
