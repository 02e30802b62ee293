package server

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rft-dev/rft/policy"
)

// genJob is one generation request as both APIs reduce it: prompt ids,
// sampling settings and stop strings.
type genJob struct {
	req      policy.GenRequest // Prompt and sampling fields; EOS, Stop and OnToken are set by run
	stops    []string
	logprobs bool // the response reports log-probabilities, so the engine must return them
}

// sampleResult is one finished sample as the APIs report it.
type sampleResult struct {
	Tokens   []int // every token the engine produced for the text, EOS included
	Logprobs []float32
	Top      [][]policy.TokenAlt
	Text     string // decoded tokens without the EOS token, cut before a stop string
	Finish   string // "stop" or "length"
}

type genResult struct {
	samples    []sampleResult
	version    string
	start      time.Time // the engine was called
	firstToken time.Time // zero when the engine does not stream tokens
	end        time.Time
}

// delta is one piece of a streamed sample: the text released since the last
// delta and the tokens received since then. The last delta of a sample has
// final set.
type delta struct {
	sample   int
	text     string
	tokens   []int
	logprobs []float32
	top      [][]policy.TokenAlt
	final    bool
	finish   string // final deltas: the finish reason
	version  string // final deltas: the weight version
}

// errNoLogprobs reports an engine that returned no log-probabilities.
var errNoLogprobs = errors.New("the engine returned no log-probabilities for this request")

// run generates j. With emit set, text is streamed: emit is called from this
// goroutine with deltas of each sample as the engine produces tokens, and
// once more per sample with its final delta. An error from emit (the client
// went away) cancels the generation.
//
// Text is released only when it cannot change: incomplete UTF-8 at the end
// and any suffix that could begin a stop string are held back, so streamed
// pieces always concatenate to the non-streamed text.
func (s *Server) run(ctx context.Context, j *genJob, emit func(delta) error) (*genResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := j.req
	req.EOS = s.eos
	n := max(req.N, 1)
	if len(j.stops) > 0 {
		req.Stop = s.stopFunc(j.stops)
	}
	var (
		mu         sync.Mutex
		pending    = make([][]policy.GenToken, n)
		firstToken time.Time
		notify     = make(chan struct{}, 1)
	)
	req.OnToken = func(i int, t policy.GenToken) {
		mu.Lock()
		if firstToken.IsZero() {
			firstToken = time.Now()
		}
		if emit != nil && i >= 0 && i < n {
			pending[i] = append(pending[i], t)
		}
		mu.Unlock()
		if emit != nil {
			select {
			case notify <- struct{}{}:
			default:
			}
		}
	}

	res := &genResult{start: time.Now()}
	var (
		out    *policy.GenResult
		genErr error
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		out, genErr = s.engine.Generate(ctx, req)
	}()

	states := make([]*sampleState, n)
	for i := range states {
		states[i] = &sampleState{}
	}
	var emitErr error
	drain := func() {
		mu.Lock()
		got := pending
		pending = make([][]policy.GenToken, n)
		mu.Unlock()
		for i, toks := range got {
			for _, t := range toks {
				states[i].add(s, t)
			}
			if emitErr != nil || len(toks) == 0 {
				continue
			}
			if d, ok := states[i].release(j.stops); ok {
				d.sample = i
				if emitErr = emit(d); emitErr != nil {
					cancel()
				}
			}
		}
	}
	if emit != nil {
	loop:
		for {
			select {
			case <-notify:
				drain()
			case <-done:
				break loop
			}
		}
		drain() // tokens reported just before Generate returned
	} else {
		<-done
	}
	res.end = time.Now()
	mu.Lock()
	res.firstToken = firstToken
	mu.Unlock()
	if emitErr != nil {
		return nil, emitErr
	}
	if genErr != nil {
		return nil, genErr
	}
	res.version = out.WeightVersion
	if res.firstToken.IsZero() && out.FirstToken > 0 {
		res.firstToken = res.start.Add(out.FirstToken)
	}
	for i, gs := range out.Samples {
		sr, err := s.finishSample(gs, j.stops, j.logprobs, j.req.TopLogprobs)
		if err != nil {
			return nil, err
		}
		res.samples = append(res.samples, sr)
		if emit == nil || i >= n {
			continue
		}
		st := states[i]
		d := delta{sample: i, final: true, finish: sr.Finish, version: out.WeightVersion}
		if st.emittedText <= len(sr.Text) && strings.HasPrefix(sr.Text, string(st.text[:st.emittedText])) {
			d.text = sr.Text[st.emittedText:]
		} else {
			// The engine streamed tokens that are not a prefix of its
			// result; the client keeps what it has and gets the rest.
			s.log.Warn("server: streamed tokens disagree with the engine's result", "sample", i)
			d.text = sr.Text[min(st.emittedText, len(sr.Text)):]
		}
		k := min(st.emittedTokens, len(sr.Tokens))
		d.tokens = sr.Tokens[k:]
		if j.logprobs {
			d.logprobs = sr.Logprobs[k:]
			if sr.Top != nil {
				d.top = sr.Top[k:]
			}
		}
		if err := emit(d); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// stopFunc tells the engine when a sample has produced one of the stop
// strings: any occurrence must end in the newest token, so only the tail of
// the tokens is decoded (every token decodes to at least one byte).
func (s *Server) stopFunc(stops []string) func(int, []int) bool {
	longest := 0
	for _, st := range stops {
		longest = max(longest, len(st))
	}
	return func(_ int, toks []int) bool {
		tail := s.tok.Decode(toks[max(0, len(toks)-longest-1):])
		for _, st := range stops {
			if strings.Contains(tail, st) {
				return true
			}
		}
		return false
	}
}

// finishSample turns the engine's sample into the reported one: the text
// without the EOS token, cut before the first stop string; tokens (and
// log-probabilities) up to the one that completed the stop string. The same
// cut applies whether or not the engine stopped the sample itself, so a
// request gives the same answer on every engine.
func (s *Server) finishSample(gs policy.GenSample, stops []string, logprobs bool, top int) (sampleResult, error) {
	r := sampleResult{Tokens: gs.Tokens, Finish: gs.FinishReason}
	if logprobs {
		if len(gs.Logprobs) != len(gs.Tokens) || (top > 0 && len(gs.Top) != len(gs.Tokens)) {
			return r, errNoLogprobs
		}
		r.Logprobs, r.Top = gs.Logprobs, gs.Top
		if top == 0 {
			r.Top = nil
		}
	}
	// ends[k] is the length of the visible text of the first k+1 tokens.
	var text strings.Builder
	ends := make([]int, len(gs.Tokens))
	for k, id := range gs.Tokens {
		if !(k == len(gs.Tokens)-1 && slices.Contains(s.eos, id)) {
			text.WriteString(s.tok.Decode([]int{id}))
		}
		ends[k] = text.Len()
	}
	r.Text = text.String()
	if len(stops) == 0 {
		return r, nil
	}
	// The stop string that completes first decides the cut.
	firstEnd := -1
	for _, st := range stops {
		if i := strings.Index(r.Text, st); i >= 0 && (firstEnd < 0 || i+len(st) < firstEnd) {
			firstEnd = i + len(st)
		}
	}
	if firstEnd < 0 {
		return r, nil
	}
	k, _ := slices.BinarySearch(ends, firstEnd) // first k with ends[k] >= firstEnd
	visible := r.Text[:ends[k]]
	cut := len(visible)
	for _, st := range stops {
		if i := strings.Index(visible, st); i >= 0 {
			cut = min(cut, i)
		}
	}
	r.Text = visible[:cut]
	r.Tokens = r.Tokens[:k+1]
	if r.Logprobs != nil {
		r.Logprobs = r.Logprobs[:k+1]
	}
	if r.Top != nil {
		r.Top = r.Top[:k+1]
	}
	r.Finish = "stop"
	return r, nil
}

// sampleState follows one streamed sample.
type sampleState struct {
	tokens        []int
	logprobs      []float32
	top           [][]policy.TokenAlt
	text          []byte // visible text so far
	emittedText   int
	emittedTokens int
	stopped       bool // a stop string appeared: the final delta says the rest
}

func (st *sampleState) add(s *Server, t policy.GenToken) {
	st.tokens = append(st.tokens, t.ID)
	st.logprobs = append(st.logprobs, t.Logprob)
	st.top = append(st.top, t.Top)
	if !slices.Contains(s.eos, t.ID) {
		st.text = append(st.text, s.tok.Decode([]int{t.ID})...)
	}
}

// release returns the text that can no longer change and the tokens
// received since the last release.
func (st *sampleState) release(stops []string) (delta, bool) {
	if st.stopped {
		return delta{}, false
	}
	text := string(st.text)
	for _, s := range stops {
		if strings.Contains(text, s) {
			st.stopped = true
			return delta{}, false
		}
	}
	safe := len(text) - stopPrefixLen(text, stops)
	safe -= incompleteUTF8(text[:safe])
	if safe <= st.emittedText {
		return delta{}, false
	}
	d := delta{
		text:     text[st.emittedText:safe],
		tokens:   st.tokens[st.emittedTokens:],
		logprobs: st.logprobs[st.emittedTokens:],
		top:      st.top[st.emittedTokens:],
	}
	st.emittedText, st.emittedTokens = safe, len(st.tokens)
	return d, true
}

// stopPrefixLen is the length of the longest suffix of text that is a proper
// prefix of a stop string: text that a later token could turn into a stop.
func stopPrefixLen(text string, stops []string) int {
	best := 0
	for _, s := range stops {
		for n := min(len(s)-1, len(text)); n > best; n-- {
			if strings.HasSuffix(text, s[:n]) {
				best = n
				break
			}
		}
	}
	return best
}

// incompleteUTF8 is the number of bytes at the end of text that begin a
// UTF-8 sequence the next token may complete.
func incompleteUTF8(text string) int {
	for n := 1; n <= min(utf8.UTFMax-1, len(text)); n++ {
		if tail := text[len(text)-n:]; utf8.RuneStart(tail[0]) {
			if utf8.FullRuneInString(tail) {
				return 0
			}
			return n
		}
	}
	return 0
}
