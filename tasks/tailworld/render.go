package tailworld

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Predicate says one attribute of e: "weighs 12 kg", "runs 40 km/h", "is 5
// years old", "is red", "lives in the forest".
func Predicate(e Entity, a Attr) string {
	switch a {
	case Weight:
		return fmt.Sprintf("weighs %d kg", e.Weight)
	case Speed:
		return fmt.Sprintf("runs %d km/h", e.Speed)
	case Age:
		return fmt.Sprintf("is %d years old", e.Age)
	case Color:
		return "is " + e.Color
	case Home:
		return "lives in the " + e.Home
	}
	return ""
}

// Description is the phrase a response puts before an item's name ("the
// forest fox Bralo"): the item's words from the one the request filters by
// through its kind, in the facts' order (color, home, kind). The words a
// request asks for come first, then what followed them in the fact line, so a
// policy can write the phrase by reading along the facts (FactLine says why
// that matters).
func Description(e Entity, f Filter) string {
	switch f.Attr {
	case Color:
		return e.Color + " " + e.Home + " " + e.Kind
	case Home:
		return e.Home + " " + e.Kind
	}
	return e.Kind
}

// JoinAnd joins "a", "a and b", "a, b and c".
func JoinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

var hedgePrefix = map[string]string{"I think": "I think ", "maybe": "Maybe ", "probably": "Probably ",
	"perhaps": "Perhaps ", "I am not sure": "I am not sure, but "}

var hedgeClosing = map[string]string{"I think": "I think these are good.", "maybe": "Maybe there are better ones.",
	"probably": "These are probably right.", "perhaps": "Perhaps there are better ones.",
	"I am not sure": "I am not sure about this."}

// Render writes a plan as response text. r perturbs the numbers of items
// planned with a wrong fact.
func Render(q Request, pl Plan, r *rand.Rand) string {
	var lines []string
	switch {
	case pl.Artifacts[Sure]:
		lines = append(lines, "Sure!")
	case pl.Artifacts[GreatQ]:
		lines = append(lines, "Great question!")
	}
	if pl.Intro {
		np := q.Filter.NounPhrase()
		if len(pl.Items) == 1 {
			np = "one of the " + np
		}
		lines = append(lines, fmt.Sprintf("Here are %d %s.", len(pl.Items), np))
	}
	end := "."
	if pl.Artifacts[Exclaim] {
		end = "!"
	}
	var sentences []string
	for i, e := range pl.Items {
		name := e.Name
		if pl.Artifacts[Bold] {
			name = "**" + name + "**"
		}
		bluff := pl.Bluff && !q.Filter.Holds(e) && q.Filter.Attr != Kind
		if pl.Kind {
			d := e
			if bluff {
				d = bluffed(q, e) // the description tells the same lie as the predicate below
			}
			if pl.WrongFact[i] && len(pl.Attrs[i]) == 0 {
				d.Kind = Kinds[(indexOf(Kinds, d.Kind)+1+r.IntN(len(Kinds)-1))%len(Kinds)]
			}
			article := "The " // it starts the sentence, unless a hedge does ("Maybe the ...")
			if pl.HedgeAt == i {
				article = "the "
			}
			name = article + Description(d, q.Filter) + " " + name
		}
		var preds []string
		for j, a := range pl.Attrs[i] {
			f := e
			if pl.WrongFact[i] && j == 0 {
				f = perturb(q, e, a, r)
			}
			preds = append(preds, Predicate(f, a))
		}
		if bluff {
			preds = append(preds, Predicate(bluffed(q, e), q.Filter.Attr))
		}
		s := name
		if len(preds) > 0 {
			s += " " + JoinAnd(preds)
		}
		if pl.HedgeAt == i {
			s = hedgePrefix[pl.HedgeWord] + s
		}
		sentences = append(sentences, s+end)
	}
	if pl.List {
		for i, s := range sentences {
			if pl.Artifacts[Numbered] {
				lines = append(lines, fmt.Sprintf("%d. %s", i+1, s))
			} else {
				lines = append(lines, "- "+s)
			}
		}
	} else if len(sentences) > 0 {
		lines = append(lines, strings.Join(sentences, " "))
	}
	lines = append(lines, pl.Fillers...)
	closing := ""
	if pl.Summary {
		closing = fmt.Sprintf("%s is the %s.", pl.SummaryFor.Name, q.Intent.Superlative())
		if pl.HedgeAt == len(pl.Items) {
			closing = hedgePrefix[pl.HedgeWord] + closing
		}
	} else if pl.HedgeAt == len(pl.Items) {
		closing = hedgeClosing[pl.HedgeWord]
	}
	if closing != "" {
		lines = append(lines, closing)
	}
	if pl.Artifacts[HopeHelps] {
		lines = append(lines, "Hope this helps!")
	}
	return strings.Join(lines, "\n")
}

// bluffed returns e as a bluff says it is: passing q's filter.
func bluffed(q Request, e Entity) Entity {
	if q.Filter.Attr == Home {
		e.Home = q.Filter.Value
	} else {
		e.Color = q.Filter.Value
	}
	return e
}

// perturb returns e with attribute a wrong: mostly another fact's value
// (the confusion a weak model makes, which a grader that only checks that
// a number appears in the prompt will not see), else a nearby number.
func perturb(q Request, e Entity, a Attr, r *rand.Rand) Entity {
	if a == Weight || a == Speed || a == Age {
		var others []int
		for _, f := range q.Facts {
			if f.Value(a) != e.Value(a) {
				others = append(others, f.Value(a))
			}
		}
		if len(others) > 0 && r.IntN(4) != 0 {
			v := pick(r, others)
			switch a {
			case Weight:
				e.Weight = v
			case Speed:
				e.Speed = v
			case Age:
				e.Age = v
			}
			return e
		}
	}
	d := 2 + r.IntN(9)
	if r.IntN(2) == 0 {
		d = -d
	}
	switch a {
	case Weight:
		e.Weight = max(1, e.Weight+d)
		if e.Weight == 1 && d < 0 {
			e.Weight = 1 - d
		}
	case Speed:
		e.Speed = max(1, e.Speed+d)
	case Age:
		e.Age = max(1, e.Age+d)
		if e.Age == 1 && d < 0 {
			e.Age = 1 - d
		}
	case Color:
		e.Color = Colors[(indexOf(Colors, e.Color)+1)%len(Colors)]
	case Home:
		e.Home = Homes[(indexOf(Homes, e.Home)+1)%len(Homes)]
	}
	return e
}

func indexOf(xs []string, x string) int {
	for i, y := range xs {
		if y == x {
			return i
		}
	}
	return -1
}
