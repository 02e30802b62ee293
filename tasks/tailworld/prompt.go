package tailworld

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
)

// Filter is the hard constraint of a request: the items must share a value
// of a categorical attribute (home, kind or color).
type Filter struct {
	Attr  Attr
	Value string
}

// Holds reports whether e passes the filter.
func (f Filter) Holds(e Entity) bool { return e.Word(f.Attr) == f.Value }

// NounPhrase is the filter as the request says it: "animals from the
// forest", "foxes", "red animals".
func (f Filter) NounPhrase() string {
	switch f.Attr {
	case Home:
		return "animals from the " + f.Value
	case Kind:
		return Plurals[f.Value]
	}
	return f.Value + " animals"
}

// Request is what a prompt asks, with the facts it carries.
type Request struct {
	Facts    []Entity
	Count    int
	Filter   Filter
	Intent   Intent
	Template int
}

// Eligible returns the facts that pass the filter, in fact order.
func (q Request) Eligible() []Entity {
	var out []Entity
	for _, e := range q.Facts {
		if q.Filter.Holds(e) {
			out = append(out, e)
		}
	}
	return out
}

// Lookup finds a fact by name.
func (q Request) Lookup(name string) (Entity, bool) {
	for _, e := range q.Facts {
		if e.Name == name {
			return e, true
		}
	}
	return Entity{}, false
}

// Prompt is one request as text, with its id.
type Prompt struct {
	ID      string
	Text    string
	Request Request
}

// Split names a disjoint set of prompts.
type Split string

const (
	Train Split = "train"
	Eval  Split = "eval"
)

// requestTemplates say the request; %d is the count, %s the noun phrase,
// %s the wish's adjective (capitalised in template 3).
var requestTemplates = []string{
	"Name %d %s. I want %s ones.",
	"Which %d %s would you pick? I want %s ones.",
	"List %d %s. I like %s ones.",
	"Give me %d %s. %s ones, please.",
}

// Prompt returns prompt i of a split. Train prompts draw their facts from
// the first two thirds of the world and eval prompts from the last third, and
// their random streams are keyed by split, so the splits share no prompt and
// no entity.
func (w *World) Prompt(split Split, i int) Prompt {
	pool := w.Entities[:len(w.Entities)*2/3]
	if split == Eval {
		pool = w.Entities[len(w.Entities)*2/3:]
	}
	r := rand.New(rand.NewPCG(w.Seed, Hash64("prompt", string(split), strconv.Itoa(i))))
	for {
		if q, ok := drawRequest(r, pool); ok {
			text := RenderPrompt(q)
			return Prompt{ID: fmt.Sprintf("tw-%s-%05d", split, i), Text: text, Request: q}
		}
	}
}

// Prompts returns prompts [from, from+n) of a split.
func (w *World) Prompts(split Split, from, n int) []Prompt {
	out := make([]Prompt, n)
	for i := range out {
		out[i] = w.Prompt(split, from+i)
	}
	return out
}

func drawRequest(r *rand.Rand, pool []Entity) (Request, bool) {
	q := Request{Count: 2 + r.IntN(3), Intent: pick(r, Intents), Template: r.IntN(len(requestTemplates))}
	switch r.IntN(3) {
	case 0:
		q.Filter = Filter{Home, pick(r, Homes)}
	case 1:
		q.Filter = Filter{Kind, pick(r, Kinds)}
	default:
		q.Filter = Filter{Color, pick(r, Colors)}
	}
	nElig := q.Count + r.IntN(3) // some choice among the eligible
	nOther := 2 + r.IntN(2)      // distractors
	used := map[int]bool{}       // values of the wish's attribute: kept distinct so "best" is defined
	named := map[string]bool{}   // names: worlds reuse them, a prompt does not
	var elig, other []Entity
	for _, k := range r.Perm(len(pool)) {
		e := pool[k]
		v := e.Value(q.Intent.Attr)
		if used[v] || named[e.Name] {
			continue
		}
		switch {
		case q.Filter.Holds(e) && len(elig) < nElig:
			elig = append(elig, e)
		case !q.Filter.Holds(e) && len(other) < nOther:
			other = append(other, e)
		default:
			continue
		}
		used[v], named[e.Name] = true, true
		if len(elig) == nElig && len(other) == nOther {
			break
		}
	}
	if len(elig) < nElig || len(other) < nOther {
		return q, false
	}
	q.Facts = append(elig, other...)
	r.Shuffle(len(q.Facts), func(i, j int) { q.Facts[i], q.Facts[j] = q.Facts[j], q.Facts[i] })
	return q, true
}

// FactLine says one entity: "- red forest fox Bralo: 12 kg, 40 km/h, 5 years."
//
// The order is chosen for a small causal policy. Its words come before the
// name, so by the time the policy reads a name it has read what selects it,
// and an answer that says what it is looking for before the name it wants
// ("the forest fox Bralo") finds that name the way any continuation is found:
// by looking up what followed the same words in the prompt. With the name
// first (the earlier formats, "- Bralo: red fox, forest, ...") the policy had
// to recall a name from words that came after it, and the demo-size base
// never learned to (docs/BASE.md). The "- " lead puts a space before the name,
// as in the responses, so the name has the same token in both.
func FactLine(e Entity) string {
	return fmt.Sprintf("- %s %s %s %s: %d kg, %d km/h, %d years.", e.Color, e.Home, e.Kind, e.Name, e.Weight, e.Speed, e.Age)
}

// RenderPrompt writes a request as prompt text.
func RenderPrompt(q Request) string {
	var b strings.Builder
	b.WriteString("Facts:\n")
	for _, e := range q.Facts {
		b.WriteString(FactLine(e))
		b.WriteByte('\n')
	}
	adj := q.Intent.Adjective()
	if q.Template == 3 {
		adj = strings.ToUpper(adj[:1]) + adj[1:]
	}
	fmt.Fprintf(&b, requestTemplates[q.Template], q.Count, q.Filter.NounPhrase(), adj)
	return b.String()
}

var (
	factRe = regexp.MustCompile(`^- ([a-z]+) ([a-z]+) ([a-z]+) ([A-Z][a-z]+): (\d+) kg, (\d+) km/h, (\d+) years\.$`)
	// oldFactRe reads the earlier, name-first formats, so prompt files
	// written by earlier versions still parse.
	oldFactRe = regexp.MustCompile(`^(?:- )?([A-Z][a-z]+): ([a-z]+) ([a-z]+), ([a-z]+), (\d+) kg, (\d+) km/h, (\d+) years\.$`)
	requestRe = regexp.MustCompile(`^(?:Name|Which|List|Give me) (\d+) (.+?)(?: would you pick\?|\.) (?:I want |I like )?([A-Za-z]+) ones(?:, please)?\.$`)
)

// ParsePrompt reads a tailworld prompt back into its request. Anything that
// reads prompts (responders, the oracle, the simulated proposer) goes
// through it, so the prompt text alone defines the task.
func ParsePrompt(text string) (Request, error) {
	var q Request
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) < 3 || lines[0] != "Facts:" {
		return q, fmt.Errorf("tailworld: prompt does not start with a Facts: block")
	}
	for i, l := range lines[1 : len(lines)-1] {
		var e Entity
		m := factRe.FindStringSubmatch(l)
		if m != nil {
			e = Entity{Color: m[1], Home: m[2], Kind: m[3], Name: m[4]}
		} else if m = oldFactRe.FindStringSubmatch(l); m != nil {
			e = Entity{Name: m[1], Color: m[2], Kind: m[3], Home: m[4]}
		} else {
			return q, fmt.Errorf("tailworld: prompt line %d: not a fact: %q", i+2, l)
		}
		e.Weight, _ = strconv.Atoi(m[5])
		e.Speed, _ = strconv.Atoi(m[6])
		e.Age, _ = strconv.Atoi(m[7])
		q.Facts = append(q.Facts, e)
	}
	last := lines[len(lines)-1]
	m := requestRe.FindStringSubmatch(last)
	if m == nil {
		return q, fmt.Errorf("tailworld: prompt line %d: not a request: %q", len(lines), last)
	}
	q.Count, _ = strconv.Atoi(m[1])
	np := m[2]
	switch {
	case strings.HasPrefix(np, "animals from the "):
		q.Filter = Filter{Home, strings.TrimPrefix(np, "animals from the ")}
	case strings.HasSuffix(np, " animals"):
		q.Filter = Filter{Color, strings.TrimSuffix(np, " animals")}
	default:
		for k, p := range Plurals {
			if p == np {
				q.Filter = Filter{Kind, k}
			}
		}
		if q.Filter.Value == "" {
			return q, fmt.Errorf("tailworld: request %q: unknown noun phrase %q", last, np)
		}
	}
	in, ok := IntentOfAdjective(strings.ToLower(m[3]))
	if !ok {
		return q, fmt.Errorf("tailworld: request %q: unknown wish %q", last, m[3])
	}
	q.Intent = in
	for t, tmpl := range requestTemplates {
		if strings.HasPrefix(last, strings.SplitN(tmpl, " %d", 2)[0]) {
			q.Template = t
		}
	}
	return q, nil
}
