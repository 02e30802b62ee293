package replicate

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// committedRun is the default run kept under docs/ (docs/REPLICATE.md,
// "The default run"): the files the report reads, and the report itself.
const committedRun = "../docs/replicate"

// TestCommittedReportRegenerates rebuilds the committed default run's report
// from its own files and requires the committed bytes: the report under docs/
// can then never say something that its data, or the code that reads them, do
// not. The copy sits at runs/replicate of a scratch directory because the
// report names the run directory it was written from.
func TestCommittedReportRegenerates(t *testing.T) {
	src, err := filepath.Abs(committedRun)
	if err != nil {
		t.Fatal(err)
	}
	outputs := []string{ReportMD, ReportHTML, ResultsFile}
	plots, err := filepath.Glob(filepath.Join(src, "plots", "*.png"))
	if err != nil || len(plots) == 0 {
		t.Fatalf("%s: no plots/*.png (err %v)", src, err)
	}
	for _, p := range plots {
		outputs = append(outputs, filepath.Join("plots", filepath.Base(p)))
	}

	root := t.TempDir()
	run := filepath.Join(root, "runs", "replicate")
	if err := os.CopyFS(run, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	for _, f := range outputs { // the inputs alone: nothing of the old report may survive
		if err := os.Remove(filepath.Join(run, f)); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(root)
	rep, err := WriteReport(filepath.Join("runs", "replicate"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Missing) != 0 {
		t.Fatalf("committed run is missing arm runs: %v", rep.Missing)
	}
	for _, f := range outputs {
		want, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(run, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: regenerated report differs from the committed one (%d vs %d bytes); rerun the report and commit it",
				filepath.Join(committedRun, f), len(got), len(want))
		}
	}
	// Every committed file is one the report reads or writes (no checkpoints).
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(path) == ".safetensors" {
			t.Errorf("%s: checkpoints do not belong under docs/", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
