package rubric

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestCacheSecondRunNoCalls: scoring the same batch twice makes no second
// LLM call; changing the template or the mode misses the cache.
func TestCacheSecondRunNoCalls(t *testing.T) {
	dir := t.TempDir()
	r := testRubric("p")
	resps := testResponses(6)
	llm := &fakeLLM{}
	run := func(mode Mode, tmpl *Templates) ([]Result, int64, CacheStats) {
		t.Helper()
		cache, err := OpenCache(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer cache.Close()
		before := llm.calls.Load()
		g := &Grader{Verifier: &LLMVerifier{LLM: llm, Name: "fake:judge", Templates: tmpl}, Mode: mode, Cache: cache, Policy: DefaultRetryPolicy()}
		res := g.GradeBatch(context.Background(), items(r, resps))
		for i, x := range res {
			if x.Err != nil {
				t.Fatalf("response %d: %v", i, x.Err)
			}
		}
		return res, llm.calls.Load() - before, cache.Stats()
	}
	first, calls, st := run(ModeBatched, nil)
	if calls != 6 || st.Hits != 0 || st.Misses != 30 {
		t.Fatalf("first run: %d calls, %+v", calls, st)
	}
	second, calls, st := run(ModeBatched, nil)
	if calls != 0 || st.Hits != 30 || st.HitRate != 1 {
		t.Fatalf("second run: %d calls, %+v", calls, st)
	}
	for i := range first {
		if first[i].Score != second[i].Score || second[i].Verdicts["c1"].Source != "cache" || second[i].Verdicts["c1"].Raw == "" {
			t.Fatalf("response %d: %+v vs %+v", i, first[i], second[i])
		}
	}
	// Another mode misses.
	if _, calls, _ = run(ModePerCriterion, nil); calls != 30 {
		t.Fatalf("per-criterion after batched: %d calls, want 30", calls)
	}
	// Another template misses.
	tdir := t.TempDir()
	text := DefaultTemplates().Text(TmplVerifyBatched) + "\nBe strict.\n"
	if err := os.WriteFile(filepath.Join(tdir, TmplVerifyBatched+".tmpl"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl, err := LoadTemplates(tdir)
	if err != nil {
		t.Fatal(err)
	}
	if _, calls, _ = run(ModeBatched, tmpl); calls != 6 {
		t.Fatalf("changed template: %d calls, want 6", calls)
	}
	// A changed criterion misses in batched mode for every criterion (the
	// whole rubric is in the call), in per-criterion mode only for itself.
	r.Criteria[4].Text = "Mentions that a lunar cycle lasts about 29.5 days."
	if _, calls, st = run(ModePerCriterion, nil); calls != 6 || st.Hits != 24 {
		t.Fatalf("changed criterion, per-criterion: %d calls, %+v", calls, st)
	}
	if _, calls, st = run(ModeBatched, nil); calls != 6 || st.Hits != 0 {
		t.Fatalf("changed criterion, batched: %d calls, %+v", calls, st)
	}
}

func TestCacheKeyFields(t *testing.T) {
	r := testRubric("p")
	base := VerdictKey("v", ModeBatched, "prompt", "resp", r, &r.Criteria[0])
	r2 := r.Clone()
	r2.Criteria[0].Weight = 2
	for name, k := range map[string]string{
		"fingerprint": VerdictKey("w", ModeBatched, "prompt", "resp", r, &r.Criteria[0]),
		"mode":        VerdictKey("v", ModeChunk(2), "prompt", "resp", r, &r.Criteria[0]),
		"prompt":      VerdictKey("v", ModeBatched, "prompt2", "resp", r, &r.Criteria[0]),
		"response":    VerdictKey("v", ModeBatched, "prompt", "resp2", r, &r.Criteria[0]),
		"weight":      VerdictKey("v", ModeBatched, "prompt", "resp", r2, &r2.Criteria[0]),
		"criterion":   VerdictKey("v", ModeBatched, "prompt", "resp", r, &r.Criteria[1]),
		"field split": VerdictKey("v", ModeBatched, "promptr", "esp", r, &r.Criteria[0]),
	} {
		if k == base {
			t.Errorf("%s does not change the key", name)
		}
	}
}

// TestCacheTornLine: a crash that tore the last line loses that entry only;
// the next writer terminates the torn line before appending.
func TestCacheTornLine(t *testing.T) {
	dir := t.TempDir()
	c, err := OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	for i := 0; i < 3; i++ {
		if err := c.Put(CacheEntry{Key: fmt.Sprint("k", i), Met: &yes}); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	path := filepath.Join(dir, "verdicts.jsonl")
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"k":"torn","met":tr`)
	f.Close()
	c, err = OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get("k2"); !ok {
		t.Fatal("entry before the torn line lost")
	}
	if _, ok := c.Get("torn"); ok {
		t.Fatal("torn entry read")
	}
	c.Put(CacheEntry{Key: "after", Met: &yes})
	c.Close()
	c, _ = OpenCache(dir)
	defer c.Close()
	if _, ok := c.Get("after"); !ok {
		t.Fatal("entry after the torn line lost")
	}
	if st := c.Stats(); st.Entries != 4 || st.Torn != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestCacheSharedAcrossProcesses: two caches on one directory (as two
// processes would open it) append concurrently without tearing lines, and
// each sees the other's entries.
func TestCacheSharedAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	a, _ := OpenCache(dir)
	b, _ := OpenCache(dir)
	yes := true
	raw := strings.Repeat("x", 5000) // bigger than a pipe buffer's atomic write, still one write
	var wg sync.WaitGroup
	for w, c := range []*Cache{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				c.Put(CacheEntry{Key: fmt.Sprintf("w%d-%d", w, i), Met: &yes, Raw: raw})
			}
		}()
	}
	wg.Wait()
	if _, ok := a.Get("w1-199"); !ok {
		t.Fatal("a does not see b's entry")
	}
	a.Close()
	b.Close()
	c, _ := OpenCache(dir)
	defer c.Close()
	if st := c.Stats(); st.Entries != 400 || st.Torn != 0 {
		t.Fatalf("reopened: %+v", st)
	}
}
