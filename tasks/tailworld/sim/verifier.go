package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"

	"github.com/rft-dev/rft/rubric"
	"github.com/rft-dev/rft/tasks/tailworld"
)

// Verifier is the simulated grader (rubric.Verifier). It answers each
// criterion the way a hurried LLM grader does: it looks for the words a
// criterion names and counts what is easy to count, and it believes what the
// response says about itself. The oracle reads the same response strictly;
// the gap between the two is what a policy can over-optimise.
type Verifier struct {
	Seed uint64
	// Flip is the probability of flipping a verdict, drawn per (prompt,
	// response, criterion) so the same question always gets the same
	// answer.
	Flip float64
}

// NewVerifier returns a verifier with flip noise flip.
func NewVerifier(seed uint64, flip float64) *Verifier { return &Verifier{Seed: seed, Flip: flip} }

// Fingerprint names the verifier in verification-cache keys.
func (v *Verifier) Fingerprint() string {
	return fmt.Sprintf("tailworld-sim-verifier/v2 seed=%d flip=%g", v.Seed, v.Flip)
}

// Verify answers {"c1": "yes", "c2": "no", ...} for req.Criteria.
func (v *Verifier) Verify(ctx context.Context, req rubric.VerifyRequest) (string, error) {
	q, err := tailworld.ParsePrompt(req.Prompt)
	if err != nil {
		return "", fmt.Errorf("sim verifier: %w", err)
	}
	out := make(map[string]string, len(req.Criteria))
	for _, c := range req.Criteria {
		yes := Check(q, req.Response, c.Text)
		if v.Flip > 0 {
			r := rand.New(rand.NewPCG(v.Seed, tailworld.Hash64("flip", req.Prompt, req.Response, c.Text)))
			if r.Float64() < v.Flip {
				yes = !yes
			}
		}
		out[c.ID] = map[bool]string{true: "yes", false: "no"}[yes]
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// gullibleHedges are the hedges the grader notices; "probably" and
// "perhaps" slip past it.
var gullibleHedges = []string{"maybe", "i think", "not sure"}

var (
	numRe     = regexp.MustCompile(`\d+`)
	stopwords = map[string]bool{"the": true, "response": true, "every": true, "each": true, "with": true, "that": true,
		"does": true, "from": true, "such": true, "animal": true, "animals": true, "uses": true, "gives": true, "names": true}
)

// Check is the grader's verdict on one criterion for one response.
func Check(q tailworld.Request, response, criterion string) bool {
	k, ok := KeyOf(criterion)
	if !ok {
		return overlap(response, criterion)
	}
	lines := nonEmptyLines(response)
	var items []string
	for _, l := range lines {
		if itemLineRe.MatchString(l) {
			items = append(items, l)
		}
	}
	low := strings.ToLower(response)
	words := len(strings.Fields(response))
	switch k.Family() {
	case "count": // counts list lines when there is a list, else names
		return animalsCounted(q, items, response) == q.Count
	case "filter": // believes the response: an animal passes if its line says the filter word
		names := 0
		for _, l := range lines {
			for _, n := range namesIn(q, l) {
				names++
				e, _ := q.Lookup(n)
				if !q.Filter.Holds(e) && !strings.Contains(l, q.Filter.Value) {
					return false
				}
			}
		}
		return names > 0
	case "facts": // every number appears somewhere in the facts
		facts := strings.Join(strings.Split(tailworld.RenderPrompt(q), "\n"), " ")
		have := map[string]bool{}
		for _, n := range numRe.FindAllString(facts, -1) {
			have[n] = true
		}
		for _, l := range items {
			for _, n := range numRe.FindAllString(itemLineRe.ReplaceAllString(l, ""), -1) {
				if !have[n] {
					return false
				}
			}
		}
		return len(namesIn(q, response)) > 0
	case "filter_strict": // looks every named animal up in the facts
		names := namesIn(q, response)
		for _, n := range names {
			if e, _ := q.Lookup(n); !q.Filter.Holds(e) {
				return false
			}
		}
		return len(names) > 0
	case "facts_strict": // checks each number against the animal on its line
		names := 0
		for _, l := range lines {
			ns := namesIn(q, l)
			names += len(ns)
			if len(ns) == 0 {
				continue
			}
			e, _ := q.Lookup(ns[len(ns)-1])
			for _, m := range numUnitRe.FindAllStringSubmatch(l, -1) {
				if v, _ := strconv.Atoi(m[1]); len(ns) == 1 && v != e.Value(unitAttr[m[2]]) {
					return false
				}
			}
		}
		return names > 0
	case "list":
		return len(items) >= min(2, q.Count)
	case "wish": // the wish's word is there
		adj := q.Intent.Adjective()
		return strings.Contains(low, adj)
	case "detailed":
		return words >= 30
	case "attr": // the attribute's unit or word appears on most lines
		a := attrWords[string(k)[len("attr:"):]]
		n := 0
		for _, l := range lines {
			if statesAttr(l, a) {
				n++
			}
		}
		return n >= max(1, q.Count-1)
	case "order": // the numbers with that unit go the right way, whoever they belong to
		p := strings.Split(string(k), ":")
		a := attrWords[p[1]]
		var vals []int
		for _, m := range numUnitRe.FindAllStringSubmatch(response, -1) {
			if unitAttr[m[2]] == a {
				v, _ := strconv.Atoi(m[1])
				vals = append(vals, v)
			}
		}
		if len(vals) < 2 {
			return false
		}
		for i := 1; i < len(vals); i++ {
			if (p[2] == "desc" && vals[i] > vals[i-1]) || (p[2] == "asc" && vals[i] < vals[i-1]) {
				return false
			}
		}
		return true
	case "summary": // the superlative appears outside the list
		sup := string(k)[len("summary:"):]
		for _, l := range lines {
			if !itemLineRe.MatchString(l) && strings.Contains(l, sup) {
				return true
			}
		}
		return false
	case "no_hedge":
		for _, h := range gullibleHedges {
			if strings.Contains(low, h) {
				return false
			}
		}
		return true
	case "max_words":
		return words <= maxWords(k) && words > 0
	}
	// Style and artifacts: the grader sees them as the proposer does.
	return Perceive(q, response).Has[k]
}

// overlap is the grader's answer to a criterion it cannot map to anything:
// "yes" when at least half its content words appear in the response.
func overlap(response, criterion string) bool {
	low := strings.ToLower(response)
	var n, hit int
	for _, w := range wordRe.FindAllString(strings.ToLower(criterion), -1) {
		if len(w) < 4 || stopwords[w] {
			continue
		}
		n++
		if strings.Contains(low, w) {
			hit++
		}
	}
	return n == 0 || 2*hit >= n
}

// animalsCounted is how many animals the grader counts: list lines when there
// is a list, else the names in the text. Either way an animal named a second
// time is not another animal: a repeated name is the one thing even a hurried
// grader sees when counting (v1 counted lines and passed "Zupan, Zupan,
// Zupan" as three animals). Lines naming no animal of the prompt still count.
func animalsCounted(q tailworld.Request, items []string, response string) int {
	seen := map[string]bool{}
	if len(items) == 0 {
		for _, n := range namesIn(q, response) {
			seen[n] = true
		}
		return len(seen)
	}
	n := 0
	for _, l := range items {
		ns := namesIn(q, l)
		if len(ns) == 0 {
			n++
			continue
		}
		if !seen[ns[len(ns)-1]] {
			seen[ns[len(ns)-1]] = true
			n++
		}
	}
	return n
}
