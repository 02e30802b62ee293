package rubric

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is how criteria are grouped into verifier calls.
type Mode string

const (
	// ModeBatched answers all criteria of a rubric in one call (the paper).
	ModeBatched Mode = "batched"
	// ModePerCriterion asks one call per criterion (HealthBench).
	ModePerCriterion Mode = "per-criterion"
	// ModeImplicit is the mode of holistic-score requests (AggImplicit).
	ModeImplicit = "implicit"
)

// ModeChunk groups criteria k at a time ("chunk:K").
func ModeChunk(k int) Mode { return Mode("chunk:" + strconv.Itoa(k)) }

// ParseMode reads batched, per-criterion or chunk:K (K ≥ 1).
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeBatched, ModePerCriterion:
		return m, nil
	}
	if k, ok := strings.CutPrefix(s, "chunk:"); ok {
		if n, err := strconv.Atoi(k); err == nil && n >= 1 {
			return ModeChunk(n), nil
		}
	}
	return "", fmt.Errorf("mode %q: want batched, per-criterion or chunk:K with K ≥ 1", s)
}

// chunkSize is how many criteria go into one call; 0 means all.
func (m Mode) chunkSize() int {
	switch m {
	case ModePerCriterion:
		return 1
	case ModeBatched:
		return 0
	}
	k, _ := strconv.Atoi(strings.TrimPrefix(string(m), "chunk:"))
	return k
}

// RetryPolicy says what the grader does with answers it cannot use.
type RetryPolicy struct {
	// Retries is how many more attempts a call gets after an unparsable
	// answer or a failed call (after the LLM client's own transport retries).
	Retries int `json:"retries"`
	// RetryTemperatures are the temperatures of retries after a parse
	// failure, in order; the last repeats. After a failed call the
	// temperature stays: a transport error says nothing about the answer.
	RetryTemperatures []float64 `json:"retry_temperatures"`
	// MissingRetries is how many times criteria missing from an answer are
	// asked again before they count as "no".
	MissingRetries int `json:"missing_retries"`
}

// DefaultRetryPolicy: two more attempts, the first at temperature 1 as in
// the paper; missing criteria asked once more before they count as "no".
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{Retries: 2, RetryTemperatures: []float64{1}, MissingRetries: 1}
}

// PaperRetryPolicy is the paper's exact policy: one retry at temperature 1,
// a missing criterion counts as "no".
func PaperRetryPolicy() RetryPolicy {
	return RetryPolicy{Retries: 1, RetryTemperatures: []float64{1}, MissingRetries: 0}
}

// ParseRetryPolicy reads a preset name: default or paper.
func ParseRetryPolicy(s string) (RetryPolicy, error) {
	switch s {
	case "", "default":
		return DefaultRetryPolicy(), nil
	case "paper":
		return PaperRetryPolicy(), nil
	}
	return RetryPolicy{}, fmt.Errorf("retry policy %q: want default or paper", s)
}

func (p RetryPolicy) temperature(parseFailures int) float64 {
	if parseFailures == 0 || len(p.RetryTemperatures) == 0 {
		return 0
	}
	i := min(parseFailures, len(p.RetryTemperatures)) - 1
	return p.RetryTemperatures[i]
}

// Verdict is one criterion's answer, kept with where it came from.
type Verdict struct {
	Met bool `json:"met"`
	// Source: "llm" (answered now), "cache", "check" (programmatic, local),
	// or "default" (missing from every answer, counted as "no").
	Source string `json:"source"`
	Raw    string `json:"raw,omitempty"` // the verifier's raw answer it was read from
}

// Result is one response's grading. A result with Err has no score.
type Result struct {
	Score    float64
	Verdicts map[string]Verdict
	Err      error
	Calls    int // verifier calls made for this response
	Retries  int
	Hits     int // cache hits
}

// Met returns the verdicts as the scores file writes them.
func (r *Result) Met() map[string]bool {
	out := make(map[string]bool, len(r.Verdicts))
	for id, v := range r.Verdicts {
		out[id] = v.Met
	}
	return out
}

// GraderStats counts what a grader did, for reports and the fault tests.
type GraderStats struct {
	Responses     int64 `json:"responses"`
	Failed        int64 `json:"failed"`
	Calls         int64 `json:"calls"`
	Retries       int64 `json:"retries"`
	ParseFailures int64 `json:"parse_failures"`
	CallErrors    int64 `json:"call_errors"`
	MissingAsked  int64 `json:"missing_asked_again"`
	DefaultedNo   int64 `json:"missing_counted_no"`
	CheckVerdicts int64 `json:"check_verdicts"`
	CacheHits     int64 `json:"cache_hits"`
	CacheMisses   int64 `json:"cache_misses"`
}

// Grader verifies responses against rubrics and aggregates the verdicts: it
// groups criteria into calls by Mode, evaluates programmatic checks locally,
// retries by Policy, consults the Cache and limits concurrent calls.
type Grader struct {
	Verifier    Verifier
	Mode        Mode          // "" is batched
	Aggregate   Aggregation   // "" is mean
	Policy      RetryPolicy   // zero value: no retries; use DefaultRetryPolicy
	Cache       *Cache        // nil: none
	Concurrency int           // concurrent verifier calls; 0 is 8
	CallTimeout time.Duration // per call, on top of the client's own; 0 none
	// Fingerprint identifies the verifier in cache keys when it does not
	// implement Fingerprinter itself.
	Fingerprint string

	once sync.Once
	sem  chan struct{}

	responses, failed, calls, retries, parseFailures, callErrors atomic.Int64
	missingAsked, defaulted, checks, hits, misses                atomic.Int64
}

// Stats reports the counts so far.
func (g *Grader) Stats() GraderStats {
	return GraderStats{
		Responses: g.responses.Load(), Failed: g.failed.Load(), Calls: g.calls.Load(),
		Retries: g.retries.Load(), ParseFailures: g.parseFailures.Load(), CallErrors: g.callErrors.Load(),
		MissingAsked: g.missingAsked.Load(), DefaultedNo: g.defaulted.Load(), CheckVerdicts: g.checks.Load(),
		CacheHits: g.hits.Load(), CacheMisses: g.misses.Load(),
	}
}

func (g *Grader) init() {
	g.once.Do(func() {
		n := g.Concurrency
		if n <= 0 {
			n = 8
		}
		g.sem = make(chan struct{}, n)
		if g.Mode == "" {
			g.Mode = ModeBatched
		}
		if g.Aggregate == "" {
			g.Aggregate = AggMean
		}
		if fp, ok := g.Verifier.(Fingerprinter); ok && g.Fingerprint == "" {
			g.Fingerprint = fp.Fingerprint()
		}
	})
}

// Item is one response to grade against a rubric.
type Item struct {
	Rubric   *Rubric
	Response string
}

// GradeBatch grades items concurrently (calls bounded by Concurrency) and
// returns the results in order. Failures are per item, in Result.Err.
func (g *Grader) GradeBatch(ctx context.Context, items []Item) []Result {
	out := make([]Result, len(items))
	var wg sync.WaitGroup
	for i := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = g.Grade(ctx, items[i].Rubric, items[i].Response)
		}()
	}
	wg.Wait()
	return out
}

// Grade verifies one response against a rubric and aggregates.
func (g *Grader) Grade(ctx context.Context, r *Rubric, response string) (res Result) {
	g.init()
	g.responses.Add(1)
	defer func() {
		if res.Err != nil {
			g.failed.Add(1)
			res.Score = 0
		}
	}()
	if g.Aggregate == AggImplicit {
		return g.gradeImplicit(ctx, r, response)
	}
	res.Verdicts = make(map[string]Verdict, len(r.Criteria))
	var ask []Criterion
	for _, c := range r.Criteria {
		if c.Check != nil {
			met, err := RunCheck(c.Check, response)
			if err != nil {
				res.Err = fmt.Errorf("%s: %w", c.ID, err)
				return res
			}
			g.checks.Add(1)
			res.Verdicts[c.ID] = Verdict{Met: met, Source: "check"}
			continue
		}
		if g.Cache != nil {
			e, ok := g.Cache.Get(VerdictKey(g.Fingerprint, g.Mode, r.Prompt, response, r, &c))
			if ok && e.Met != nil {
				g.hits.Add(1)
				res.Hits++
				res.Verdicts[c.ID] = Verdict{Met: *e.Met, Source: "cache", Raw: e.Raw}
				continue
			}
			g.misses.Add(1)
		}
		ask = append(ask, c)
	}
	// Group the criteria still to ask into calls.
	var units [][]Criterion
	if k := g.Mode.chunkSize(); k == 0 {
		if len(ask) > 0 {
			units = append(units, ask)
		}
	} else {
		for i := 0; i < len(ask); i += k {
			units = append(units, ask[i:min(i+k, len(ask))])
		}
	}
	type unitResult struct {
		verdicts       map[string]Verdict
		calls, retries int
		err            error
	}
	results := make([]unitResult, len(units))
	var wg sync.WaitGroup
	for i, u := range units {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, calls, retries, err := g.askUnit(ctx, r, response, u)
			results[i] = unitResult{v, calls, retries, err}
		}()
	}
	wg.Wait()
	for _, u := range results {
		res.Calls += u.calls
		res.Retries += u.retries
		if u.err != nil && res.Err == nil {
			res.Err = u.err
		}
		for id, v := range u.verdicts {
			res.Verdicts[id] = v
		}
	}
	if res.Err != nil {
		return res
	}
	if g.Cache != nil {
		for _, c := range ask {
			v := res.Verdicts[c.ID]
			if v.Source != "llm" {
				continue // a "no" by default is a policy, not an observation
			}
			met := v.Met
			if err := g.Cache.Put(CacheEntry{Key: VerdictKey(g.Fingerprint, g.Mode, r.Prompt, response, r, &c), Met: &met, Raw: v.Raw}); err != nil {
				res.Err = err
				return res
			}
		}
	}
	met := res.Met()
	if g.Aggregate == AggPoints {
		res.Score = Points(r, met)
	} else {
		res.Score = WeightedMean(r, met)
	}
	return res
}

// askUnit gets verdicts for the criteria of one call: retries unusable
// answers by the policy, then asks again for criteria an answer left out,
// then counts the rest "no".
func (g *Grader) askUnit(ctx context.Context, r *Rubric, response string, unit []Criterion) (map[string]Verdict, int, int, error) {
	out := map[string]Verdict{}
	pending := unit
	calls, retries := 0, 0
	for round := 0; ; round++ {
		ids := make([]string, len(pending))
		for i, c := range pending {
			ids[i] = c.ID
		}
		var got map[string]bool
		raw, n, rt, err := g.call(ctx, VerifyRequest{
			Prompt: r.Prompt, Response: response, Rubric: r, Criteria: pending, Mode: string(g.Mode),
		}, func(raw string) error {
			var err error
			got, err = ParseVerdicts(raw, ids)
			return err
		})
		calls += n
		retries += rt
		if err != nil {
			return out, calls, retries, err
		}
		var missing []Criterion
		for _, c := range pending {
			if met, ok := got[c.ID]; ok {
				out[c.ID] = Verdict{Met: met, Source: "llm", Raw: raw}
			} else {
				missing = append(missing, c)
			}
		}
		if len(missing) == 0 {
			return out, calls, retries, nil
		}
		if round >= g.Policy.MissingRetries {
			for _, c := range missing {
				g.defaulted.Add(1)
				out[c.ID] = Verdict{Met: false, Source: "default", Raw: raw}
			}
			return out, calls, retries, nil
		}
		g.missingAsked.Add(int64(len(missing)))
		pending = missing
	}
}

// call sends one request with the policy's retries; parse reads the answer
// (an error is a parse failure). It returns the raw answer accepted, the
// calls made and the retries among them.
func (g *Grader) call(ctx context.Context, req VerifyRequest, parse func(string) error) (string, int, int, error) {
	parseFailures := 0
	var lastErr error
	for attempt := 0; attempt <= g.Policy.Retries; attempt++ {
		if attempt > 0 {
			g.retries.Add(1)
		}
		req.Attempt = attempt
		req.Temperature = g.Policy.temperature(parseFailures)
		raw, err := g.verifyOnce(ctx, req)
		if ctx.Err() != nil {
			return "", attempt + 1, attempt, ctx.Err()
		}
		if err != nil {
			g.callErrors.Add(1)
			lastErr = fmt.Errorf("verifier call: %w", err)
			continue
		}
		if err := parse(raw); err != nil {
			g.parseFailures.Add(1)
			parseFailures++
			lastErr = fmt.Errorf("verifier answer: %w (answer %q)", err, clip(raw, 200))
			continue
		}
		return raw, attempt + 1, attempt, nil
	}
	return "", g.Policy.Retries + 1, g.Policy.Retries, fmt.Errorf("%w after %d attempts", lastErr, g.Policy.Retries+1)
}

func (g *Grader) verifyOnce(ctx context.Context, req VerifyRequest) (string, error) {
	select {
	case g.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-g.sem }()
	g.calls.Add(1)
	if g.CallTimeout <= 0 {
		return g.Verifier.Verify(ctx, req)
	}
	cctx, cancel := context.WithTimeout(ctx, g.CallTimeout)
	defer cancel()
	// A client that ignores its context must not hold the job: the call
	// is abandoned when the deadline passes (its goroutine ends when the
	// client returns).
	type answer struct {
		raw string
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		raw, err := g.Verifier.Verify(cctx, req)
		ch <- answer{raw, err}
	}()
	var raw string
	var err error
	select {
	case a := <-ch:
		raw, err = a.raw, a.err
		if err == nil && cctx.Err() != nil {
			err = cctx.Err()
		}
	case <-cctx.Done():
		err = cctx.Err()
	}
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		err = fmt.Errorf("timed out after %v: %w", g.CallTimeout, err)
	}
	return raw, err
}

func (g *Grader) gradeImplicit(ctx context.Context, r *Rubric, response string) Result {
	var res Result
	key := ""
	if g.Cache != nil {
		key = ScoreKey(g.Fingerprint, r.Prompt, response, r)
		if e, ok := g.Cache.Get(key); ok && e.Score != nil {
			g.hits.Add(1)
			return Result{Score: *e.Score, Hits: 1}
		}
		g.misses.Add(1)
	}
	var score float64
	raw, calls, retries, err := g.call(ctx, VerifyRequest{
		Prompt: r.Prompt, Response: response, Rubric: r, Criteria: r.Criteria, Mode: ModeImplicit,
	}, func(raw string) error {
		var err error
		score, err = ParseHolisticScore(raw)
		return err
	})
	res.Calls, res.Retries = calls, retries
	if err != nil {
		res.Err = err
		return res
	}
	res.Score = score
	if g.Cache != nil {
		if err := g.Cache.Put(CacheEntry{Key: key, Score: &score, Raw: raw}); err != nil {
			res.Err = err
		}
	}
	return res
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
