package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// loadRequests are 64 chat requests with mixed settings: greedy and sampled,
// n from 1 to 3, top-p, top-k, min-p, stop strings, log-probabilities with
// alternatives, and the rollout path's sampled log-probabilities.
func loadRequests() []map[string]any {
	prompts := []string{"Name a river.", "What is two plus two?", "Write a haiku.", "Say hello.",
		"List three fruits.", "Describe the sea.", "Who are you?", "Count to five."}
	var reqs []map[string]any
	for i := range 64 {
		r := map[string]any{
			"model":      "tiny",
			"messages":   []any{map[string]any{"role": "user", "content": prompts[i%len(prompts)]}},
			"max_tokens": 3 + i%6,
			"n":          1 + i%3,
			"seed":       i,
		}
		switch i % 4 {
		case 0:
			r["temperature"] = 0
		case 1:
			r["temperature"], r["top_p"] = 0.7, 0.9
		case 2:
			r["temperature"], r["top_k"] = 1.2, 20
		case 3:
			r["temperature"], r["min_p"] = 1.0, 0.05
		}
		if i%3 == 0 {
			r["logprobs"], r["top_logprobs"] = true, 2
		}
		if i%5 == 0 {
			r["logprobs"], r["sampled_logprobs"] = true, true
		}
		if i%7 == 0 {
			r["stop"] = []string{"e", "\n"}
		}
		reqs = append(reqs, r)
	}
	return reqs
}

// TestLoadConcurrentChat sends 64 chat requests at once over loopback while
// the weights are reloaded in the middle. Every request succeeds, and each
// answer (text, token ids, log-probabilities, finish reasons) is
// byte-identical to the same request served alone: batching and the swap
// change nothing (the reload installs the same weights under a new version).
func TestLoadConcurrentChat(t *testing.T) {
	s := newServer(t, Options{Logger: quiet()})
	base := listen(t, s)
	reqs := loadRequests()
	post := func(body map[string]any) (int, []byte, error) {
		raw, _ := json.Marshal(body)
		resp, err := http.Post(base+"/v1/chat/completions", "application/json", bytes.NewReader(raw))
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		return resp.StatusCode, out, err
	}
	type answer struct {
		Choices       json.RawMessage `json:"choices"`
		WeightVersion string          `json:"weight_version"`
	}
	alone := make([]answer, len(reqs))
	for i, r := range reqs {
		code, body, err := post(r)
		if err != nil || code != 200 {
			t.Fatalf("request %d alone: %d %s %v", i, code, body, err)
		}
		alone[i] = decode[answer](t, body)
	}

	// The first half starts at once; the second half after the reload,
	// while the first is still running.
	var (
		wg        sync.WaitGroup
		finished  atomic.Int32
		start     = make(chan struct{})
		reloaded  = make(chan struct{})
		reloadErr error
		got       = make([]answer, len(reqs))
		errs      = make([]error, len(reqs))
	)
	for i, r := range reqs {
		wg.Go(func() {
			<-start
			if i >= len(reqs)/2 {
				<-reloaded
			}
			code, body, err := post(r)
			switch {
			case err != nil:
				errs[i] = err
			case code != 200:
				errs[i] = fmt.Errorf("status %d: %s", code, body)
			default:
				errs[i] = json.Unmarshal(body, &got[i])
			}
			finished.Add(1)
		})
	}
	go func() {
		defer close(reloaded)
		for finished.Load() < 8 {
			time.Sleep(time.Millisecond)
		}
		_, reloadErr = s.Reload("", "")
	}()
	close(start)
	wg.Wait()
	if reloadErr != nil {
		t.Fatal(reloadErr)
	}
	versions := map[string]int{}
	for i := range reqs {
		if errs[i] != nil {
			t.Errorf("request %d under load: %v", i, errs[i])
			continue
		}
		versions[got[i].WeightVersion]++
		if i >= len(reqs)/2 && got[i].WeightVersion != "v2" {
			t.Errorf("request %d, sent after the reload, ran on %q", i, got[i].WeightVersion)
		}
		if !bytes.Equal(got[i].Choices, alone[i].Choices) {
			t.Errorf("request %d (%v): under load\n%s\nalone\n%s", i, reqs[i], got[i].Choices, alone[i].Choices)
		}
	}
	for v := range versions {
		if v != "v1" && v != "v2" {
			t.Errorf("weight version %q", v)
		}
	}
	t.Logf("answers by weight version: %v", versions)
	if after := postChat(t, s, reqs[0]); after.WeightVersion != "v2" {
		t.Errorf("after the reload: %q", after.WeightVersion)
	}
}
