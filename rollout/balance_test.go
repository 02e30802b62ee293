package rollout

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBalanceSpreadsCalls(t *testing.T) {
	var fakes []*fake
	var urls []string
	for range 3 {
		f := newFake(t, false)
		fakes = append(fakes, f)
		urls = append(urls, f.srv.URL)
	}
	var s sleeps
	// One comma-separated entry and one plain: both forms list endpoints.
	llm, err := Open("openai:m", testOptions(&s, urls[0]+", "+urls[1], urls[2]))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if _, err := llm.Chat(context.Background(), chatReq(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	for i, f := range fakes {
		if n := f.served.Load(); n != 10 {
			t.Errorf("endpoint %d served %d of 30 sequential calls, want 10 (round-robin among idle endpoints)", i, n)
		}
	}
}

// TestBalanceRetriesElsewhere: a dead endpoint costs retries, never calls.
func TestBalanceRetriesElsewhere(t *testing.T) {
	dead := newFake(t, false, "500", "500", "500", "500", "500", "500", "500", "500", "500", "500")
	good := newFake(t, false)
	var s sleeps
	opts := testOptions(&s, dead.srv.URL, good.srv.URL)
	llm, err := Open("openai:m", opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := llm.Chat(context.Background(), chatReq(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	u := opts.Meter.Snapshot()["policy"]
	if u.Failures != 0 || u.Calls != 10 || good.served.Load() != 10 || u.Retries != int64(len(dead.requests())) {
		t.Errorf("usage %+v, good served %d, dead saw %d", u, good.served.Load(), len(dead.requests()))
	}
}

func TestConcurrencyLimitPerEndpoint(t *testing.T) {
	for _, ollama := range []bool{false, true} {
		a, b := newFake(t, ollama), newFake(t, ollama)
		a.hold, b.hold = 20*time.Millisecond, 20*time.Millisecond
		var s sleeps
		opts := testOptions(&s, a.srv.URL, b.srv.URL)
		opts.Concurrency = 3
		opts.Timeout = 10 * time.Second // a loaded machine must not turn waits into retries
		spec := "openai:m"
		if ollama {
			spec = "ollama:m"
		}
		llm, err := Open(spec, opts)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 24 {
			wg.Go(func() {
				req := chatReq(fmt.Sprint(i))
				req.N = 1
				if _, err := llm.Chat(context.Background(), req); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if u := opts.Meter.Snapshot()["policy"]; u.Retries != 0 {
			t.Errorf("%s: %d retries", spec, u.Retries)
		}
		for i, f := range []*fake{a, b} {
			if p := f.peak.Load(); p > 3 || p < 2 {
				t.Errorf("%s endpoint %d: %d requests in flight at once, limit 3", spec, i, p)
			}
			if n := f.served.Load(); n < 8 {
				t.Errorf("%s endpoint %d served %d of 24", spec, i, n)
			}
		}
	}
}

// TestSlotWaitHonoursContext: a request queued behind the limit gives up
// when its context ends.
func TestSlotWaitHonoursContext(t *testing.T) {
	f := newFake(t, false)
	f.hold = 200 * time.Millisecond
	var s sleeps
	opts := testOptions(&s, f.srv.URL)
	opts.Concurrency = 1
	llm, _ := Open("openai:m", opts)
	go llm.Chat(context.Background(), chatReq("first"))
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := llm.Chat(ctx, chatReq("second"))
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
}
