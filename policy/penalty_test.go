package policy

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// penalisedRef is the definition written out in float64 for one id: the
// bias, then the repetition penalty once if the id is in the prompt or the
// output, then frequency per occurrence in the output and presence once.
func penalisedRef(x float64, id int, p Penalties, prompt, output []int) float64 {
	x += p.Bias[id]
	count := 0
	for _, t := range output {
		if t == id {
			count++
		}
	}
	if p.Repetition != 0 && (count > 0 || slices.Contains(prompt, id)) {
		if x > 0 {
			x /= p.Repetition
		} else {
			x *= p.Repetition
		}
	}
	if count > 0 {
		x -= float64(count)*p.Frequency + p.Presence
	}
	return x
}

func TestPenaltiesApply(t *testing.T) {
	logits := []float32{2, -1, 0.5, 3, -0.25, 1, 0, -2}
	prompt := []int{1, 2, 2, 6}
	output := []int{3, 4, 3, 1, 3}
	for _, p := range []Penalties{
		{Repetition: 1.5},
		{Repetition: 0.8},
		{Frequency: 0.4},
		{Presence: 0.7},
		{Presence: -0.3, Frequency: 1.1},
		{Repetition: 1.2, Frequency: 0.5, Presence: 0.25},
		{Bias: map[int]float64{0: -100, 5: 2.5}},
		// the bias comes first: id 1 (-1 + 3 = 2 > 0) is divided, not multiplied
		{Bias: map[int]float64{1: 3, 7: -0.5}, Repetition: 2, Presence: 0.5},
	} {
		s := newPenaltyState(p, prompt, len(logits))
		for _, id := range output {
			s.accept(id)
		}
		in := slices.Clone(logits)
		got := s.apply(in)
		if !slices.Equal(in, logits) {
			t.Fatalf("%+v: apply wrote its input", p)
		}
		for id := range logits {
			want := penalisedRef(float64(logits[id]), id, p, prompt, output)
			if math.Abs(float64(got[id])-want) > 1e-6 {
				t.Errorf("%+v id %d: %v, want %v", p, id, got[id], want)
			}
		}
		// Frequency and presence read the output only: id 6 is in the
		// prompt and never generated.
		if p.Repetition == 0 && p.Bias[6] == 0 && got[6] != logits[6] {
			t.Errorf("%+v: a prompt-only token is penalised without a repetition penalty", p)
		}
	}
}

// TestPenaltiesGreedy follows greedy decoding on fixed logits by hand: the
// largest logit repeats without a penalty; a presence penalty larger than its
// margin over the runner-up hands one turn to the runner-up and then (being
// paid once) gives the lead back; a frequency penalty keeps rotating.
func TestPenaltiesGreedy(t *testing.T) {
	logits := []float32{0, 0.5, 0.2, 1}
	run := func(p Penalties) []int {
		s := newTokenSampler(SampleOptions{}, rand.New(rand.NewPCG(1, 1)))
		s.penalise(p, nil, len(logits))
		var out []int
		for range 5 {
			out = append(out, s.pick(logits))
		}
		return out
	}
	for _, c := range []struct {
		p    Penalties
		want []int
	}{
		{Penalties{}, []int{3, 3, 3, 3, 3}},
		{Penalties{Presence: 0.6}, []int{3, 1, 3, 3, 3}},
		// 3: 1, then 0.4 < 0.5 → 1; 1: -0.1; 3 (0.4) > 2 (0.2) → 3; 3: -0.2 → 2 (0.2); 2: -0.4 → 0 (0)
		{Penalties{Frequency: 0.6}, []int{3, 1, 3, 2, 0}},
		// repetition 4, paid once per distinct token: 3 → 0.25, 1 → 0.125,
		// then 3 (0.25) leads 2 (0.2) for good
		{Penalties{Repetition: 4}, []int{3, 1, 3, 3, 3}},
		{Penalties{Bias: map[int]float64{2: 100}}, []int{2, 2, 2, 2, 2}},
		{Penalties{Bias: map[int]float64{3: -100}}, []int{1, 1, 1, 1, 1}},
	} {
		if got := run(c.p); !slices.Equal(got, c.want) {
			t.Errorf("%+v: %v, want %v", c.p, got, c.want)
		}
	}
}

func TestPenaltiesValidate(t *testing.T) {
	for _, c := range []struct {
		p    Penalties
		want string
	}{
		{Penalties{Frequency: 2.5}, "frequency_penalty"},
		{Penalties{Presence: -2.1}, "presence_penalty"},
		{Penalties{Repetition: -1}, "repetition_penalty"},
		{Penalties{Repetition: math.NaN()}, "repetition_penalty"},
		{Penalties{Presence: math.NaN()}, "presence_penalty"},
		{Penalties{Bias: map[int]float64{10: 1}}, "outside the vocabulary"},
		{Penalties{Bias: map[int]float64{3: 101}}, "not in [-100, 100]"},
		{Penalties{Bias: map[int]float64{3: math.NaN()}}, "not in [-100, 100]"},
	} {
		if err := c.p.Validate(10); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %s", c.p, err, c.want)
		}
	}
	if err := (Penalties{Frequency: 2, Presence: -2, Repetition: 1.2, Bias: map[int]float64{9: -100}}).Validate(10); err != nil {
		t.Errorf("in range: %v", err)
	}
	c := &Config{VocabSize: 10, MaxPositions: 16}
	r := GenRequest{Prompt: []int{1}, MaxTokens: 2, Temperature: 1, SampledLogprobs: true, Penalties: Penalties{Presence: 1}}
	if err := r.Validate(c); err == nil || !strings.Contains(err.Error(), "sampled log-probabilities") {
		t.Errorf("sampled log-probabilities with penalties: %v", err)
	}
}
