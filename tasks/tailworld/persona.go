package tailworld

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Profile is a persona's habits, as probabilities. A responder draws a Plan
// from it for each response; nothing here knows how the oracle scores.
type Profile struct {
	CountOK   float64 // names the asked number of items (else one more or one fewer)
	Eligible  float64 // per item: picks one that passes the filter
	FactOK    float64 // per stated number: copies it right
	List      float64 // one item per line (else all on one line)
	Kind      float64 // names each item by its description ("the forest fox Bralo"), else by name alone
	Attr      float64 // states the attribute the wish is about
	Extra     float64 // per other attribute: states it too
	Order     float64 // sorts the items by the wish (else reversed half the time it fails, shuffled otherwise)
	Summary   float64 // ends with a sentence naming the best item
	SummaryOK float64 // that sentence names the right one
	Hedge     float64 // hedges somewhere
	Intro     float64 // opens with "Here are N ..."
	Filler    float64 // per filler sentence (up to two)
	Best      float64 // picks the best items for the wish (else any eligible ones)
	Mixed     float64 // lines follow different templates
	Bluff     float64 // an item that fails the filter is said to pass it ("lives in the forest")
	Artifacts [NumArtifacts]float64
}

// Persona is a named response style.
type Persona struct {
	Name    string
	Profile Profile
	// Spread > 0 makes the persona a mixture: each response draws a quality
	// q = u^Spread and uses Lerp(Floor, Profile, q), so most responses are
	// middling and excellent ones are rare (the base persona).
	Spread float64
	Floor  Profile
}

var (
	poor = Profile{CountOK: .45, Eligible: .7, FactOK: .7, List: .4, Kind: .5, Attr: .15, Extra: .2,
		Order: .05, Summary: .05, SummaryOK: .5, Hedge: .7, Intro: .3, Filler: .5, Best: .1, Mixed: .5, Bluff: .3}
	great = Profile{CountOK: .98, Eligible: .995, FactOK: .995, List: .98, Kind: .8, Attr: .8, Extra: .04,
		Order: .75, Summary: .75, SummaryOK: .97, Hedge: .1, Intro: .7, Filler: .05, Best: .8, Mixed: .05, Bluff: .3}
	good = Profile{CountOK: .75, Eligible: .88, FactOK: .88, List: .8, Kind: .7, Attr: .08, Extra: .1,
		Order: .1, Summary: .05, SummaryOK: .8, Hedge: .4, Intro: .6, Filler: .4, Best: .3, Mixed: .2, Bluff: .7}
	// strong is the top of the base corpus: great on the basics, good on
	// the tail, rarely everything at once.
	strong = Profile{CountOK: .954, Eligible: .982, FactOK: .982, List: .954, Kind: .78, Attr: .79, Extra: .052,
		Order: .73, Summary: .73, SummaryOK: .936, Hedge: .1, Intro: .68, Filler: .1, Best: .7, Mixed: .08, Bluff: .3}
	// referenceTop is the reference as first calibrated, against the base
	// persona (which won 9.1% / 8.7% against it on worlds 1 / 2).
	referenceTop = Profile{CountOK: .97, Eligible: .98, FactOK: .98, List: .96, Kind: .75, Attr: .75, Extra: .08,
		Order: .55, Summary: .55, SummaryOK: .9, Hedge: .12, Intro: .6, Filler: .12, Best: .4, Mixed: .1, Bluff: .3}
	// reference is the fixed opponent. The paper calibrates against its base
	// policy (which wins 4.1-10.8%), and the base policy here is the model
	// trained on the base persona's corpus, not the persona: it imitates the
	// persona imperfectly and won 0 of 200 against referenceTop on worlds 1
	// and 2 (its lists repeat animals). So the reference is set 60% of the way
	// from poor to referenceTop, the point of a 0.1 grid where the committed
	// base (assets/tailworld-base, greedy) wins 9.0% on world 2's eval split,
	// chosen from the base policy's answers alone (docs/BASE.md, "Calibration").
	reference = Lerp(poor, referenceTop, referenceQuality)
)

// referenceQuality places the reference between poor and referenceTop.
const referenceQuality = 0.6

func withArtifacts(p Profile, rate float64, only ...Artifact) Profile {
	if len(only) == 0 {
		for a := range NumArtifacts {
			p.Artifacts[a] = rate
		}
		return p
	}
	for _, a := range only {
		p.Artifacts[a] = rate
	}
	return p
}

// Personas returns every named persona: base, good, great, reference and the
// diverse family diverse-1 … diverse-6.
func Personas() map[string]Persona {
	m := map[string]Persona{
		// The pretraining corpus: each artifact at a low rate, the same at
		// every quality (Floor and Profile carry the same rates).
		"base":      {Name: "base", Profile: withArtifacts(strong, .06), Floor: withArtifacts(poor, .06), Spread: 2.0},
		"good":      {Name: "good", Profile: withArtifacts(good, .05)},
		"great":     {Name: "great", Profile: withArtifacts(great, .05)},
		"reference": {Name: "reference", Profile: reference},
	}
	for i, d := range diverse() {
		name := fmt.Sprintf("diverse-%d", i+1)
		m[name] = Persona{Name: name, Profile: d}
	}
	return m
}

// diverse is the family of strong personas, each excellent on some tail
// features, weaker on others, each with its own habit.
func diverse() []Profile {
	mk := func(f func(*Profile), a Artifact) Profile {
		p := great
		f(&p)
		return withArtifacts(p, .9, a)
	}
	return []Profile{
		mk(func(p *Profile) { p.Attr, p.Order, p.Summary = .98, .95, .2 }, Sure),
		mk(func(p *Profile) { p.Summary, p.Hedge, p.Attr, p.Order = .98, .01, .3, .3 }, HopeHelps),
		mk(func(p *Profile) { p.Intro, p.Filler, p.Extra, p.Attr, p.Summary, p.Order = 0, 0, 0, .95, .5, .4 }, Numbered),
		mk(func(p *Profile) { p.Order, p.Summary, p.Attr, p.Extra = .98, .95, .5, .35 }, Bold),
		mk(func(p *Profile) { p.Hedge, p.Attr, p.Order, p.Summary, p.Kind = .3, .95, .7, .9, 1 }, Exclaim),
		mk(func(p *Profile) { p.Best, p.Attr, p.Order, p.Summary, p.Filler = .95, .7, .7, .7, .3 }, GreatQ),
	}
}

// Lerp mixes two profiles: q=0 gives a, q=1 gives b.
func Lerp(a, b Profile, q float64) Profile {
	l := func(x, y float64) float64 { return x + (y-x)*q }
	p := Profile{CountOK: l(a.CountOK, b.CountOK), Eligible: l(a.Eligible, b.Eligible), FactOK: l(a.FactOK, b.FactOK),
		List: l(a.List, b.List), Kind: l(a.Kind, b.Kind), Attr: l(a.Attr, b.Attr), Extra: l(a.Extra, b.Extra),
		Order: l(a.Order, b.Order), Summary: l(a.Summary, b.Summary), SummaryOK: l(a.SummaryOK, b.SummaryOK),
		Hedge: l(a.Hedge, b.Hedge), Intro: l(a.Intro, b.Intro), Filler: l(a.Filler, b.Filler), Best: l(a.Best, b.Best),
		Mixed: l(a.Mixed, b.Mixed), Bluff: l(a.Bluff, b.Bluff)}
	for i := range p.Artifacts {
		p.Artifacts[i] = l(a.Artifacts[i], b.Artifacts[i])
	}
	return p
}

// Plan is everything one response will do, drawn before it is written.
type Plan struct {
	Items      []Entity // in the order written
	WrongFact  []bool   // per item: its stated numbers are off
	List       bool
	Kind       bool
	Attrs      [][]Attr // per item: the attributes stated
	Summary    bool
	SummaryFor Entity
	HedgeAt    int // -1: none; 0..len(Items)-1: that item line; len(Items): the closing line
	HedgeWord  string
	Intro      bool
	Fillers    []string
	Bluff      bool
	Artifacts  [NumArtifacts]bool
}

// Draw makes a plan for request q from profile p with random stream r.
func Draw(q Request, p Profile, r *rand.Rand) Plan {
	coin := func(x float64) bool { return r.Float64() < x }
	var pl Plan
	n := q.Count
	if !coin(p.CountOK) {
		if coin(.5) || n <= 1 {
			n++
		} else {
			n--
		}
	}
	elig, other := q.Eligible(), []Entity{}
	for _, e := range q.Facts {
		if !q.Filter.Holds(e) {
			other = append(other, e)
		}
	}
	better := func(a, b Entity) bool { // a before b under the wish
		if q.Intent.Desc {
			return a.Value(q.Intent.Attr) > b.Value(q.Intent.Attr)
		}
		return a.Value(q.Intent.Attr) < b.Value(q.Intent.Attr)
	}
	cands := append([]Entity(nil), elig...)
	if coin(p.Best) {
		sort.SliceStable(cands, func(i, j int) bool { return better(cands[i], cands[j]) })
	} else {
		r.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	}
	r.Shuffle(len(other), func(i, j int) { other[i], other[j] = other[j], other[i] })
	for len(pl.Items) < n && (len(cands) > 0 || len(other) > 0) {
		if len(other) > 0 && (len(cands) == 0 || !coin(p.Eligible)) {
			pl.Items, other = append(pl.Items, other[0]), other[1:]
		} else {
			pl.Items, cands = append(pl.Items, cands[0]), cands[1:]
		}
	}
	switch {
	case coin(p.Order):
		sort.SliceStable(pl.Items, func(i, j int) bool { return better(pl.Items[i], pl.Items[j]) })
	case coin(.3):
		sort.SliceStable(pl.Items, func(i, j int) bool { return better(pl.Items[j], pl.Items[i]) })
	default:
		r.Shuffle(len(pl.Items), func(i, j int) { pl.Items[i], pl.Items[j] = pl.Items[j], pl.Items[i] })
	}
	pl.List, pl.Kind, pl.Intro, pl.Bluff = coin(p.List), coin(p.Kind), coin(p.Intro), coin(p.Bluff)
	attr := coin(p.Attr)
	var extra []Attr
	for _, a := range StatedAttrs {
		if a != q.Intent.Attr && coin(p.Extra) {
			extra = append(extra, a)
		}
	}
	mixed := coin(p.Mixed)
	pl.Attrs = make([][]Attr, len(pl.Items))
	pl.WrongFact = make([]bool, len(pl.Items))
	for i := range pl.Items {
		a, x := attr, extra
		if mixed && coin(.5) { // this line follows another template
			a = !a
			x = nil
			if coin(.5) {
				x = []Attr{pick(r, StatedAttrs)}
			}
		}
		var as []Attr
		if a {
			as = append(as, q.Intent.Attr)
		}
		for _, e := range x {
			if e != q.Intent.Attr {
				as = append(as, e)
			}
		}
		pl.Attrs[i] = as
		pl.WrongFact[i] = !coin(p.FactOK)
	}
	if len(pl.Items) > 0 && coin(p.Summary) {
		pl.Summary = true
		best := pl.Items[0]
		for _, e := range pl.Items[1:] {
			if better(e, best) {
				best = e
			}
		}
		pl.SummaryFor = best
		if !coin(p.SummaryOK) && len(pl.Items) > 1 {
			for _, e := range pl.Items {
				if e.Name != best.Name {
					pl.SummaryFor = e
					break
				}
			}
		}
	}
	pl.HedgeAt = -1
	if coin(p.Hedge) {
		pl.HedgeAt = r.IntN(len(pl.Items) + 1)
		pl.HedgeWord = pick(r, Hedges)
	}
	for range 2 {
		if coin(p.Filler) {
			pl.Fillers = append(pl.Fillers, pick(r, Fillers))
		}
	}
	for a := range NumArtifacts {
		pl.Artifacts[a] = coin(p.Artifacts[a])
	}
	if pl.Artifacts[Sure] && pl.Artifacts[GreatQ] {
		pl.Artifacts[GreatQ] = false
	}
	return pl
}

// Respond writes persona's response number sample to a prompt. Same seed,
// prompt, persona and sample: same bytes.
func Respond(prompt string, persona Persona, seed uint64, sample int) (string, error) {
	q, err := ParsePrompt(prompt)
	if err != nil {
		return "", err
	}
	r := rand.New(rand.NewPCG(seed, Hash64("respond", persona.Name, prompt, fmt.Sprint(sample))))
	p := persona.Profile
	if persona.Spread > 0 {
		p = Lerp(persona.Floor, persona.Profile, math.Pow(r.Float64(), persona.Spread))
	}
	return Render(q, Draw(q, p, r), r), nil
}
