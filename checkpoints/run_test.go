package checkpoints

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rft-dev/rft/configs"
)

func newRun(t *testing.T) *Run {
	t.Helper()
	job := configs.Defaults()
	r, err := Create(filepath.Join(t.TempDir(), "run"), &job)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func writeMarker(step string) func(string) error {
	return func(dir string) error { return os.WriteFile(filepath.Join(dir, "marker"), []byte(step), 0o644) }
}

func TestSaveListRetention(t *testing.T) {
	r := newRun(t)
	for _, s := range []int{10, 20, 30} {
		if err := r.Save(s, 2, writeMarker("x")); err != nil {
			t.Fatal(err)
		}
	}
	cps, err := r.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) != 2 || cps[0].Step != 20 || cps[1].Step != 30 {
		t.Fatalf("retention kept %+v, want steps 20 and 30", cps)
	}
	if !strings.HasSuffix(cps[1].Dir, "step-000030") {
		t.Fatalf("checkpoint dir %s", cps[1].Dir)
	}
}

func TestFailedSaveLeavesNothing(t *testing.T) {
	r := newRun(t)
	if err := r.Save(5, 0, func(string) error { return errors.New("disk full") }); err == nil {
		t.Fatal("want the writer's error")
	}
	entries, _ := os.ReadDir(filepath.Join(r.Dir, "checkpoints"))
	if len(entries) != 0 {
		t.Fatalf("a failed save left %v", entries)
	}
	if cp, _ := r.Latest(); cp != nil {
		t.Fatalf("latest after a failed save: %+v", cp)
	}
}

func TestInterruptedSaveIsIgnored(t *testing.T) {
	r := newRun(t)
	if err := r.Save(1, 0, writeMarker("a")); err != nil {
		t.Fatal(err)
	}
	// A kill during a save leaves only a temporary directory behind.
	if err := os.MkdirAll(filepath.Join(r.Dir, "checkpoints", ".tmp-step-123"), 0o755); err != nil {
		t.Fatal(err)
	}
	cp, err := r.Latest()
	if err != nil || cp == nil || cp.Step != 1 {
		t.Fatalf("latest %+v, %v", cp, err)
	}
	if err := r.CleanTemp(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, "checkpoints", ".tmp-step-123")); !os.IsNotExist(err) {
		t.Fatal("CleanTemp left the temporary directory")
	}
}

func TestCreateRefusesExistingRun(t *testing.T) {
	r := newRun(t)
	job := configs.Defaults()
	if _, err := Create(r.Dir, &job); err == nil || !strings.Contains(err.Error(), "already holds a run") {
		t.Fatalf("want a refusal, got %v", err)
	}
	if _, got, err := Open(r.Dir); err != nil || !reflect.DeepEqual(*got, job) {
		t.Fatalf("open: %v", err)
	}
}

func TestMetricsTruncateOnResume(t *testing.T) {
	r := newRun(t)
	m, err := r.OpenMetrics(-1)
	if err != nil {
		t.Fatal(err)
	}
	for s := 1; s <= 5; s++ {
		if err := m.Append(map[string]any{"step": s, "loss": 1.0 / float64(s)}); err != nil {
			t.Fatal(err)
		}
	}
	m.Close()
	// A torn last line, as a kill mid-write leaves.
	f, _ := os.OpenFile(filepath.Join(r.Dir, "metrics.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"step": 6, "lo`)
	f.Close()
	m, err = r.OpenMetrics(3)
	if err != nil {
		t.Fatal(err)
	}
	m.Append(map[string]any{"step": 4})
	m.Close()
	data, _ := os.ReadFile(filepath.Join(r.Dir, "metrics.jsonl"))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[3], `{"step":4}`) {
		t.Fatalf("metrics after resume:\n%s", data)
	}
	os.WriteFile(filepath.Join(r.Dir, "metrics.jsonl"), []byte("{\"step\":1}\nnot json\n"), 0o644)
	if _, err := r.OpenMetrics(1); err == nil || !strings.Contains(err.Error(), "metrics.jsonl:2") {
		t.Fatalf("want an error naming line 2, got %v", err)
	}
}
