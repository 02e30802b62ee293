package sim

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/rft-dev/rft/tasks/tailworld"
)

// Perception is what the simulated proposer notices in a response: a value
// for every detector of its vocabulary, which is larger than the hidden gold
// set (it holds the gold features, the artifacts and neutral style) and
// knows nothing of which direction is better.
type Perception struct {
	Has   map[Key]bool
	Words int
}

var (
	itemLineRe = regexp.MustCompile(`^(?:- |\d+\. )`)
	numUnitRe  = regexp.MustCompile(`(\d+) (kg|km/h|years)`)
	wordRe     = regexp.MustCompile(`[A-Za-z]+`)
)

var unitAttr = map[string]tailworld.Attr{"kg": tailworld.Weight, "km/h": tailworld.Speed, "years": tailworld.Age}

// nonEmptyLines splits text into trimmed non-empty lines.
func nonEmptyLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// namesIn returns the fact names a line mentions, in order.
func namesIn(q tailworld.Request, line string) []string {
	var out []string
	for _, w := range wordRe.FindAllString(line, -1) {
		if _, ok := q.Lookup(w); ok {
			out = append(out, w)
		}
	}
	return out
}

// Perceive runs every detector on a response to request q.
func Perceive(q tailworld.Request, text string) Perception {
	p := Perception{Has: map[Key]bool{}, Words: len(strings.Fields(text))}
	lines := nonEmptyLines(text)
	var items []string
	var names []string
	seen := map[string]bool{}
	for _, l := range lines {
		if itemLineRe.MatchString(l) {
			items = append(items, l)
		}
		for _, n := range namesIn(q, l) {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	low := strings.ToLower(text)

	// Basic features.
	p.Has["count"] = len(names) == q.Count
	filterOK := len(names) > 0
	for _, n := range names {
		if e, _ := q.Lookup(n); !q.Filter.Holds(e) {
			filterOK = false
		}
	}
	p.Has["filter"] = filterOK
	factsOK := len(names) > 0
	listOK := len(items) > 0 && len(items) == len(names)
	for _, l := range items {
		ns := namesIn(q, l)
		if len(ns) != 1 {
			listOK = false
			continue
		}
		e, _ := q.Lookup(ns[0])
		for _, m := range numUnitRe.FindAllStringSubmatch(l, -1) {
			if v, _ := strconv.Atoi(m[1]); v != e.Value(unitAttr[m[2]]) {
				factsOK = false
			}
		}
	}
	p.Has["facts"] = factsOK
	p.Has["list"] = listOK

	// Attributes stated on every item line.
	for name, a := range attrWords {
		all := len(items) > 0
		for _, l := range items {
			if !statesAttr(l, a) {
				all = false
			}
		}
		p.Has[Key("attr:"+name)] = all
	}
	// Orderings by stated numbers.
	for _, a := range tailworld.NumericAttrs {
		var vals []int
		for _, l := range items {
			for _, m := range numUnitRe.FindAllStringSubmatch(l, -1) {
				if unitAttr[m[2]] == a {
					v, _ := strconv.Atoi(m[1])
					vals = append(vals, v)
					break
				}
			}
		}
		desc, asc := len(vals) >= 2 && len(vals) == len(items), len(vals) >= 2 && len(vals) == len(items)
		for i := 1; i < len(vals); i++ {
			desc = desc && vals[i] < vals[i-1]
			asc = asc && vals[i] > vals[i-1]
		}
		p.Has[Key("order:"+a.String()+":desc")] = desc
		p.Has[Key("order:"+a.String()+":asc")] = asc
	}
	// Closing superlative sentences.
	for _, l := range lines {
		if itemLineRe.MatchString(l) {
			continue
		}
		for _, in := range tailworld.Intents {
			if strings.Contains(l, " is the "+in.Superlative()) {
				p.Has[Key("summary:"+in.Superlative())] = true
			}
		}
	}
	hedged := false
	for _, h := range tailworld.Hedges {
		if strings.Contains(" "+low+" ", " "+strings.ToLower(h)+" ") || strings.HasPrefix(low, strings.ToLower(h)) {
			hedged = true
		}
	}
	p.Has["no_hedge"] = !hedged

	// Neutral style.
	kind := len(items) > 0
	for _, l := range items {
		has := false
		for _, k := range tailworld.Kinds {
			if strings.Contains(" "+strings.ToLower(l)+" ", " "+k+" ") {
				has = true
			}
		}
		kind = kind && has
	}
	p.Has["kind"] = kind
	for _, l := range lines {
		if strings.HasPrefix(l, "Here are") {
			p.Has["intro"] = true
		}
		if !itemLineRe.MatchString(l) && len(namesIn(q, l)) == 0 && !strings.ContainsAny(l, "0123456789") &&
			!strings.HasPrefix(l, "Here are") && !strings.HasSuffix(l, "!") && !strings.Contains(l, " sure") {
			p.Has["remark"] = true
		}
	}

	// Artifacts.
	p.Has["sure"] = strings.HasPrefix(text, "Sure")
	p.Has["welcome"] = strings.Contains(low, "question")
	p.Has["offer_help"] = strings.Contains(low, "help")
	p.Has["numbered"] = len(lines) > 0 && regexp.MustCompile(`(?m)^1\. `).MatchString(text)
	p.Has["no_exclaim"] = !strings.Contains(text, "!")
	p.Has["bold"] = strings.Contains(text, "**")
	return p
}

// statesAttr reports whether a line states attribute a.
func statesAttr(line string, a tailworld.Attr) bool {
	switch a {
	case tailworld.Color:
		for _, c := range tailworld.Colors {
			if strings.Contains(line, "is "+c) {
				return true
			}
		}
		return false
	case tailworld.Home:
		return strings.Contains(line, "lives in the ")
	}
	for _, m := range numUnitRe.FindAllStringSubmatch(line, -1) {
		if unitAttr[m[2]] == a {
			return true
		}
	}
	return false
}
