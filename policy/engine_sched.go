package policy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"
)

// The engine's scheduler. One goroutine owns the models' buffers and the KV
// caches; it runs while there is work and exits when there is none (a later
// Generate starts another), so an Engine needs no Close. Each iteration:
//
//  1. takes the requests submitted since the last one;
//  2. drops the samples of cancelled requests;
//  3. prefills waiting requests of one weight version, packed into one
//     training-forward batch of up to prefillBudget tokens, each prompt once
//     whatever its N, and samples every sample's first token from it;
//  4. runs one decode step over every live sample of every request, one
//     batch per weight version (in chunks of at most decodeChunk rows);
//  5. samples, streams, and retires finished samples and requests.
//
// Sampling and log-probabilities are per row and run in parallel over the
// rows; callbacks then run serially in row order.

// decodeChunk bounds the rows of one decode step, and with it the size of
// the step's buffers.
const decodeChunk = 256

// prefillBudget is the number of prompt tokens one prefill batch takes (at
// least one whole prompt): large enough to keep its matmuls efficient,
// small enough that the decode steps of running requests are not held up
// for long.
func prefillBudget(c *Config) int { return max(c.MaxPositions, 1024) }

// genJob is one request inside the engine.
type genJob struct {
	req       GenRequest
	sv        *served // the weights it runs on
	n, limit  int     // samples; new tokens at most per sample
	start     time.Time
	first     time.Duration
	cancelled atomic.Bool
	done      chan struct{} // closed when res or err is set
	res       *GenResult
	err       error

	prompt *kvSeg // the prompt's K and V, shared by the samples
	seqs   []*genSeq
	live   int // samples not finished
}

// genSeq is one sample of a request.
type genSeq struct {
	job      *genJob
	i        int
	own      *kvSeg // K and V of the generated tokens, from position len(prompt)
	sampler  *tokenSampler
	out      GenSample
	altBuf   []TokenAlt // storage the Top slices are cut from
	next     int        // the token fed at the next step, at position pos
	pos      int
	finished bool

	// the step's draw, computed in parallel and emitted serially
	tok int
	lp  float32
	top []TokenAlt
}

// errCancelled marks a job its context ended; Generate returns ctx.Err().
var errCancelled = context.Canceled

func newGenJob(req GenRequest, sv *served) *genJob {
	n := max(req.N, 1)
	return &genJob{req: req, sv: sv, n: n,
		limit: min(req.MaxTokens, sv.m.Config.MaxPositions-len(req.Prompt)),
		start: time.Now(), done: make(chan struct{})}
}

// scheduler is the state the scheduler goroutine owns.
type scheduler struct {
	waiting []*genJob // admitted, not yet prefilled
	active  []*genSeq // live samples, in admission order
	pool    kvPool

	// per-step scratch
	rows    []decodeRow
	rowSeqs []*genSeq
	rowOf   []int
	todo    []*genSeq
	maxRows atomic.Int64 // the largest decode batch so far (tests check batching happened)
	lens    []int
	tokens  []int
	segs    []*kvSeg
	batch   []*genJob
}

func (e *Engine) schedule() {
	s := &e.sched
	for {
		e.mu.Lock()
		s.waiting = append(s.waiting, e.pending...)
		clear(e.pending)
		e.pending = e.pending[:0]
		if len(s.waiting) == 0 && len(s.active) == 0 {
			e.running = false
			e.mu.Unlock()
			return
		}
		e.mu.Unlock()

		s.reapCancelled()
		s.prefill()
		s.decode()
	}
}

// reapCancelled ends the requests whose context has ended.
func (s *scheduler) reapCancelled() {
	s.waiting = slices.DeleteFunc(s.waiting, func(j *genJob) bool {
		if j.cancelled.Load() {
			s.finishJob(j, errCancelled)
			return true
		}
		return false
	})
	for _, q := range s.active {
		if !q.finished && q.job.cancelled.Load() {
			s.finishJob(q.job, errCancelled)
		}
	}
	s.active = slices.DeleteFunc(s.active, func(q *genSeq) bool { return q.finished })
}

// prefill runs the prompts of waiting requests of one weight version (the
// first waiting request's) and draws each sample's first token.
func (s *scheduler) prefill() {
	if len(s.waiting) == 0 {
		return
	}
	sv := s.waiting[0].sv
	c := sv.m.Config
	budget := prefillBudget(c)
	s.batch, s.lens, s.tokens, s.segs = s.batch[:0], s.lens[:0], s.tokens[:0], s.segs[:0]
	total := 0
	s.waiting = slices.DeleteFunc(s.waiting, func(j *genJob) bool {
		if j.sv != sv || (total > 0 && total+len(j.req.Prompt) > budget) {
			return false
		}
		total += len(j.req.Prompt)
		j.prompt = s.pool.get(c, len(j.req.Prompt))
		s.batch = append(s.batch, j)
		s.lens = append(s.lens, len(j.req.Prompt))
		s.tokens = append(s.tokens, j.req.Prompt...)
		s.segs = append(s.segs, j.prompt)
		return true
	})
	logits := prefill(sv.m, &sv.dw, s.tokens, s.lens, s.segs)
	V := c.VocabSize
	s.rowSeqs, s.rowOf = s.rowSeqs[:0], s.rowOf[:0]
	for b, j := range s.batch {
		j.seqs = make([]*genSeq, j.n)
		j.live = j.n
		for i := range j.seqs {
			q := &genSeq{job: j, i: i, sampler: newTokenSampler(SampleOptions{Temperature: j.req.Temperature,
				TopP: j.req.TopP, TopK: j.req.TopK, MinP: j.req.MinP}, rand.New(rand.NewPCG(j.req.Seed, uint64(i))))}
			q.sampler.penalise(j.req.Penalties, j.req.Prompt, V)
			q.out.Tokens = make([]int, 0, min(j.limit, 256))
			q.out.Logprobs = make([]float32, 0, min(j.limit, 256))
			j.seqs[i] = q
			s.rowSeqs = append(s.rowSeqs, q)
			s.rowOf = append(s.rowOf, b)
		}
	}
	s.draw(logits, V, s.rowOf)
	for _, q := range s.rowSeqs {
		if !q.finished { // a failed callback may have ended its job
			s.emit(q)
		}
		if !q.finished {
			s.active = append(s.active, q)
		}
	}
}

// decode runs one decode step for every live sample: one batch per weight
// version, in chunks of at most decodeChunk rows.
func (s *scheduler) decode() {
	s.active = slices.DeleteFunc(s.active, func(q *genSeq) bool { return q.finished })
	todo := append(s.todo[:0], s.active...)
	for len(todo) > 0 {
		sv := todo[0].job.sv
		c := sv.m.Config
		s.rows, s.rowSeqs = s.rows[:0], s.rowSeqs[:0]
		rest := todo[:0] // filtered in place: writes never pass the read index
		for _, q := range todo {
			switch {
			case q.finished: // its job ended during an earlier chunk
			case q.job.sv != sv || len(s.rows) == decodeChunk:
				rest = append(rest, q)
			default:
				if q.own == nil {
					q.own = s.pool.get(c, min(q.job.limit, 64))
				}
				s.pool.grow(c, q.own, q.pos-q.job.prompt.n+1)
				s.rows = append(s.rows, decodeRow{token: q.next, pos: q.pos, prompt: q.job.prompt, own: q.own})
				s.rowSeqs = append(s.rowSeqs, q)
			}
		}
		todo = rest
		if len(s.rows) == 0 {
			continue
		}
		logits := decodeStep(sv.m, &sv.dw, s.rows)
		if int64(len(s.rows)) > s.maxRows.Load() {
			s.maxRows.Store(int64(len(s.rows)))
		}
		s.draw(logits, c.VocabSize, nil)
		for _, q := range s.rowSeqs {
			if !q.finished { // a failed callback may have ended its job
				s.emit(q)
			}
		}
	}
	clear(todo[:cap(todo)])
	s.todo = todo[:0]
	s.active = slices.DeleteFunc(s.active, func(q *genSeq) bool { return q.finished })
}

// draw samples the next token of every row of s.rowSeqs from logits [·, V]
// (row r reads logits row rowOf[r], or r when rowOf is nil) and computes its
// log-probability and alternatives, in parallel over the rows: each row
// touches only its own sequence.
func (s *scheduler) draw(logits []float32, V int, rowOf []int) {
	parallelFor(len(s.rowSeqs), func(r int) {
		q := s.rowSeqs[r]
		lr := r
		if rowOf != nil {
			lr = rowOf[r]
		}
		row := logits[lr*V : (lr+1)*V]
		req := &q.job.req
		q.tok = q.sampler.pick(row)
		// Raw log-probabilities at T = 1 unless the request asks for the
		// sampled distribution's (DESIGN.md decision 6); a greedy request's
		// sampled distribution is taken at T = 1 too.
		invT := 1.0
		if req.SampledLogprobs && req.Temperature >= GreedyBelow {
			invT = 1 / req.Temperature
		}
		// The same expression as tokenLogprobsForward's, on the same
		// logits, so rollout and training log-probabilities agree.
		lse := logSumExp(row, invT)
		q.lp = float32(float64(row[q.tok])*invT - lse)
		q.top = nil
		if k := req.TopLogprobs; k > 0 {
			if len(q.altBuf) < k {
				q.altBuf = make([]TokenAlt, 64*k)
			}
			q.top = topAlternatives(q.altBuf[:0:k], row, k, invT, lse)
			q.altBuf = q.altBuf[k:]
		}
	})
}

// emit appends a sequence's drawn token, streams it and decides whether the
// sample has finished.
func (s *scheduler) emit(q *genSeq) {
	j := q.job
	q.out.Tokens = append(q.out.Tokens, q.tok)
	q.out.Logprobs = append(q.out.Logprobs, q.lp)
	if j.req.TopLogprobs > 0 {
		q.out.Top = append(q.out.Top, q.top)
	}
	if j.first == 0 {
		j.first = max(time.Since(j.start), 1)
	}
	if f := j.req.OnToken; f != nil {
		if err := guard("OnToken", q.i, func() { f(q.i, GenToken{ID: q.tok, Logprob: q.lp, Top: q.top}) }); err != nil {
			s.finishJob(j, err)
			return
		}
	}
	reason := ""
	switch {
	case slices.Contains(j.req.EOS, q.tok):
		reason = "stop"
	case j.req.Stop != nil:
		var stop bool
		if err := guard("Stop", q.i, func() { stop = j.req.Stop(q.i, q.out.Tokens) }); err != nil {
			s.finishJob(j, err)
			return
		}
		if stop {
			reason = "stop"
		}
	}
	if reason == "" && len(q.out.Tokens) >= j.limit {
		reason = "length"
	}
	if reason == "" {
		q.next, q.pos = q.tok, j.prompt.n+len(q.out.Tokens)-1
		return
	}
	q.out.FinishReason = reason
	q.finished = true
	s.pool.put(q.own)
	q.own = nil
	if j.live--; j.live == 0 {
		s.finishJob(j, nil)
	}
}

// guard runs a request's callback, turning a panic into an error for that
// request alone: the scheduler serves everyone else's.
func guard(name string, sample int, f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("engine: %s callback of sample %d panicked: %v", name, sample, r)
		}
	}()
	f()
	return nil
}

// finishJob completes a request (err nil) or ends it with err, releasing
// its cache and waking its Generate call.
func (s *scheduler) finishJob(j *genJob, err error) {
	for _, q := range j.seqs {
		if !q.finished {
			q.finished = true
			s.pool.put(q.own)
			q.own = nil
		}
	}
	s.pool.put(j.prompt)
	j.prompt = nil
	if err != nil {
		j.err = err
	} else {
		res := &GenResult{Samples: make([]GenSample, j.n), WeightVersion: j.sv.version, FirstToken: j.first, Total: time.Since(j.start)}
		for i, q := range j.seqs {
			res.Samples[i] = q.out
		}
		j.res = res
	}
	j.seqs = nil
	close(j.done)
}
