package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rft-dev/rft/rubric"
	"github.com/rft-dev/rft/tasks/tailworld/sim"
)

// Backends that are not LLM endpoints, registered by name so that specs
// like `sim` resolve; the packages that use the specs never import them.
// Importing sim also registers its `sim` rollout backend (persona responders).
//
// `--proposer sim` is tailworld's simulated proposer and `--verifier sim`
// its gullible simulated verifier; `sim:flip=P` adds verdict flip noise with
// probability P (seeded per prompt, response and criterion).
func init() {
	rubric.RegisterProposer("sim", func(spec string) (rubric.Proposer, error) {
		if _, err := simOptions(spec); err != nil {
			return nil, err
		}
		return sim.NewProposer(1), nil
	})
	rubric.RegisterVerifier("sim", func(spec string) (rubric.Verifier, error) {
		flip, err := simOptions(spec)
		if err != nil {
			return nil, err
		}
		return sim.NewVerifier(1, flip), nil
	})
}

// simOptions reads `sim` or `sim:flip=P`.
func simOptions(spec string) (flip float64, err error) {
	_, opts, _ := strings.Cut(spec, ":")
	if opts == "" {
		return 0, nil
	}
	v, ok := strings.CutPrefix(opts, "flip=")
	if ok {
		flip, err = strconv.ParseFloat(v, 64)
	}
	if !ok || err != nil || flip < 0 || flip > 1 {
		return 0, fmt.Errorf("model spec %q: want sim or sim:flip=P with P in [0, 1]", spec)
	}
	return flip, nil
}
