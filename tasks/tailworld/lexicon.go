package tailworld

// The language's closed word classes. Everything a prompt or a response says
// is built from these lists, a few fixed phrases and the entities' names, so
// a ~2k BPE vocabulary covers it and a tiny model can learn its grammar.

// Kinds of animal, with their plural forms (the kind filter uses the plural).
var (
	Kinds   = []string{"fox", "owl", "goat", "horse", "cat", "dog", "crow", "toad"}
	Plurals = map[string]string{"fox": "foxes", "owl": "owls", "goat": "goats", "horse": "horses",
		"cat": "cats", "dog": "dogs", "crow": "crows", "toad": "toads"}
	Colors = []string{"red", "grey", "white", "black", "brown", "golden"}
	Homes  = []string{"forest", "river", "hill", "farm", "town"}
)

// Attr names an attribute of an entity.
type Attr int

const (
	Weight Attr = iota // kg, 1..90
	Speed              // km/h, 5..80
	Age                // years, 1..20
	Color
	Home
	Kind
)

// NumericAttrs are the attributes a user's wish can rank by.
var NumericAttrs = []Attr{Weight, Speed, Age}

// StatedAttrs are the attributes a response can state about an item, in the
// order a sentence states them.
var StatedAttrs = []Attr{Weight, Speed, Age, Color, Home}

func (a Attr) String() string {
	switch a {
	case Weight:
		return "weight"
	case Speed:
		return "speed"
	case Age:
		return "age"
	case Color:
		return "color"
	case Home:
		return "home"
	case Kind:
		return "kind"
	}
	return "attr?"
}

// Unit is the word after a numeric value ("12 kg", "40 km/h", "5 years").
func (a Attr) Unit() string {
	switch a {
	case Weight:
		return "kg"
	case Speed:
		return "km/h"
	case Age:
		return "years"
	}
	return ""
}

// Intent is the user's wish: rank by Attr, highest first when Desc.
type Intent struct {
	Attr Attr
	Desc bool
}

// Intents in a fixed order (the prompt generator draws an index).
var Intents = []Intent{{Speed, true}, {Speed, false}, {Weight, true}, {Weight, false}, {Age, true}, {Age, false}}

// Adjective is the wish as the user says it ("fast").
func (in Intent) Adjective() string {
	return [...][2]string{Weight: {"light", "heavy"}, Speed: {"slow", "fast"}, Age: {"young", "old"}}[in.Attr][b2i(in.Desc)]
}

// Superlative names the best item under the wish ("fastest").
func (in Intent) Superlative() string {
	return [...][2]string{Weight: {"lightest", "heaviest"}, Speed: {"slowest", "fastest"}, Age: {"youngest", "oldest"}}[in.Attr][b2i(in.Desc)]
}

// IntentOfAdjective reverses Adjective.
func IntentOfAdjective(adj string) (Intent, bool) {
	for _, in := range Intents {
		if in.Adjective() == adj {
			return in, true
		}
	}
	return Intent{}, false
}

// IntentOfSuperlative reverses Superlative.
func IntentOfSuperlative(s string) (Intent, bool) {
	for _, in := range Intents {
		if in.Superlative() == s {
			return in, true
		}
	}
	return Intent{}, false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Hedges are the phrases a hedging response uses. The oracle knows them all;
// a gullible grader may know fewer.
var Hedges = []string{"I think", "maybe", "probably", "perhaps", "I am not sure"}

// Fillers are sentences that add words and no information.
var Fillers = []string{
	"All of them are nice animals.",
	"These animals are easy to find.",
	"Each one is a good pick.",
	"You will like them.",
}

// Artifact is a stylistic habit that says nothing about quality: the oracle
// ignores it (beyond the words it costs), a reward model may learn it.
type Artifact int

const (
	Sure      Artifact = iota // opens with "Sure!"
	GreatQ                    // opens with "Great question!"
	HopeHelps                 // closes with "Hope this helps!"
	Numbered                  // "1." instead of "-"
	Exclaim                   // item lines end in "!"
	Bold                      // names in **bold**
	NumArtifacts
)

func (a Artifact) String() string {
	return [...]string{"sure", "great_question", "hope_helps", "numbered", "exclaim", "bold"}[a]
}
