package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rft-dev/rft/configs"
	"github.com/rft-dev/rft/eval"
	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/replicate"
	"github.com/rft-dev/rft/tasks/tailworld"
	"github.com/rft-dev/rft/tasks/tailworld/oracle"
	"github.com/spf13/cobra"
)

// replicateQuick shrinks any replicate config to a smoke run of minutes:
// one seed, a few prompts, a few steps (configs/replicate-quick.yaml spells
// the same sizes out).
var replicateQuick = []string{
	"replicate.seeds=[1]", "replicate.train_prompts=8", "replicate.eval_prompts=16", "replicate.probe_prompts=16",
	"train.steps=4", "grpo.prompts_per_step=4", "grpo.group_size=4", "train.grad_accum=1", "rollout.max_tokens=48",
	"eval.every=2", "eval.prompts=0", "checkpoint.every=2", "checkpoint.keep=0",
	"replicate.sft.steps=4", "replicate.sft.batch_size=4", "replicate.sft.grad_accum=1", "replicate.sft.eval_every=2", "replicate.sft.warmup_steps=1",
	"replicate.rm.steps=4", "replicate.rm.batch_size=4", "replicate.rm.grad_accum=1", "replicate.rm.warmup_steps=1",
	"rm.prompts=16", "rm.eval_prompts=8", "replicate.mechanism1.samples=1",
}

func newReplicateCmd() *cobra.Command {
	var jf jobFlags
	var out string
	var quick bool
	cmd := &cobra.Command{
		Use:   "replicate --config FILE [--quick] [--out DIR]",
		Short: "The paper's comparison on tailworld: arms, controls, declared claims, verdicts, report",
		Long: `Runs the arms of replicate.arms (SFT, Bradley-Terry off-policy and on+off, the initial
rubric, rubrics refined on 1 good, 1 great, 4 great and 4 great & diverse pairs; the null
pool and the Mechanism-1 controls; base) once per seed of replicate.seeds, every GRPO arm
with the same grpo, train, rollout, eval and checkpoint settings. Before any arm runs,
the config, the simulator's parameters and the declared claims are frozen in
DIR/frozen.json with their sha256 in DIR/frozen.sha256. Each claim's verdict is then
computed by code from its declared test, and DIR/report.md, report.html, results.json
and plots/ are written from the run directory alone: the Table 1 analog (final and peak
win-rates), the Table 2 analog (reward-accuracy probe), the Figure 4 analog (win-rate
vs step and vs KL; proxy vs gold reward), beside the paper's numbers.

Rerunning with the same --config and --out resumes: a finished arm (DIR/arms/ARM/seed-S/
done.json) is never rerun, an interrupted one continues from its checkpoints. --quick
shrinks the config to a smoke run of a few minutes. docs/REPLICATE.md explains arms,
claims and tests.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			sets := jf.sets
			if quick {
				sets = append(append([]string(nil), replicateQuick...), jf.sets...)
			}
			job, err := loadReplicate(jf.config, sets)
			if err != nil {
				return inputErr(err)
			}
			if out == "" {
				out = filepath.Join("runs", "replicate-"+time.Now().Format("20060102-150405"))
			}
			ctx, stop := jobContext()
			defer stop()
			rep, err := runReplicate(ctx, job, out, progressOut())
			if err != nil {
				return err
			}
			return printReplicate(cmd.OutOrStdout(), rep)
		},
	}
	jf.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "run directory (default runs/replicate-TIMESTAMP); an existing one resumes")
	cmd.Flags().BoolVar(&quick, "quick", false, "a smoke run in minutes (tiny sizes, one seed)")
	return cmd
}

// loadReplicate resolves the job and checks what only replicate knows: the
// arm names and that per-arm overrides leave the shared settings alone and
// apply. Every error names the file and line (or --set) at fault.
func loadReplicate(path string, sets []string) (*configs.Job, error) {
	job, err := configs.LoadChecked(nil, path, sets, func(j *configs.Job) error {
		if err := replicate.CheckArms(j.Replicate.Arms, j.Replicate.Overrides); err != nil {
			return err
		}
		for arm, ov := range j.Replicate.Overrides {
			c := *j
			if err := c.Apply(ov); err != nil {
				return fmt.Errorf("replicate.overrides.%s: %w", arm, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := policy.Inspect(job.Replicate.Base); err != nil {
		return nil, fmt.Errorf("replicate.base: %w (build the base policy with `make base`)", err)
	}
	return job, nil
}

// runReplicate freezes the manifest, runs the arms and writes the report.
// Bad input is found before anything is written.
func runReplicate(ctx context.Context, job *configs.Job, out string, progress io.Writer) (*replicate.Report, error) {
	if _, err := os.Stat(filepath.Join(out, replicate.FrozenFile)); err != nil {
		if entries, _ := os.ReadDir(out); len(entries) > 0 {
			return nil, inputErr(fmt.Errorf("%s is not empty and holds no replicate run; choose another --out", out))
		}
	}
	cfg, err := job.Marshal()
	if err != nil {
		return nil, err
	}
	sim, err := simulatorManifest(job)
	if err != nil {
		return nil, err
	}
	m := &replicate.Manifest{Config: string(cfg), Arms: job.Replicate.Arms, Seeds: job.Replicate.Seeds, Simulator: sim, Claims: replicate.Claims}
	if _, err := replicate.Freeze(out, m); err != nil {
		return nil, inputErr(err)
	}
	if err := job.WriteResolved(out); err != nil {
		return nil, err
	}
	runner, err := newArmRunner(ctx, job, out, progress)
	if err != nil {
		return nil, err
	}
	if err := replicate.Run(ctx, out, m, runner, progress); err != nil {
		return nil, err
	}
	return replicate.WriteReport(out)
}

// simulatorManifest is what the run freezes of the simulator: its settings
// and a fingerprint of what it produces (prompts, each persona's response,
// the references, r* and the oracle's verdicts on them), so a change to the
// world, the personas or the oracle between two attempts of a run is
// caught, not mixed in.
func simulatorManifest(job *configs.Job) (map[string]any, error) {
	r := job.Replicate
	w := tailworld.NewWorld(r.WorldSeed, tailworld.DefaultEntities)
	h := sha256.New()
	personas := tailworld.Personas()
	names := []string{"base", "good", "great", "reference", "diverse-1", "diverse-2", "diverse-3", "diverse-4", "diverse-5", "diverse-6"}
	for _, split := range []tailworld.Split{tailworld.Train, tailworld.Eval} {
		for _, p := range w.Prompts(split, 0, 12) {
			fmt.Fprintf(h, "prompt %s\n%s\n", p.ID, p.Text)
			for _, n := range names {
				resp, err := tailworld.Respond(p.Text, personas[n], w.Seed, 0)
				if err != nil {
					return nil, err
				}
				rs, err := oracle.RStar(p.Text, resp)
				if err != nil {
					return nil, err
				}
				fmt.Fprintf(h, "%s %.6f\n%s\n", n, rs, resp)
			}
		}
	}
	return map[string]any{
		"task": "tailworld", "world_seed": r.WorldSeed, "entities": tailworld.DefaultEntities, "personas": personas,
		"pools": tailworld.Pools, "proposer": "sim (seeded by the arm's seed)", "verifier": "sim (gullible, no flip noise)",
		"judge": "tailworld oracle (r*)", "mechanism1": r.Mechanism1, "eval": eval.RegionHigh + "/" + eval.RegionLow + " probe regions",
		"fingerprint": hex.EncodeToString(h.Sum(nil)),
	}, nil
}

func printReplicate(w io.Writer, rep *replicate.Report) error {
	if global.json {
		return json.NewEncoder(w).Encode(rep)
	}
	fmt.Fprintf(w, "\nreplicate: %d arms × %d seeds, frozen sha256 %s\n", len(rep.Arms), len(rep.Seeds), rep.Hash)
	for _, line := range rep.Reading {
		fmt.Fprintf(w, "- %s\n", line)
	}
	fmt.Fprintf(w, "report: %s\n", filepath.Join(rep.Dir, replicate.ReportHTML))
	return nil
}
