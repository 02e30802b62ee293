package sim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/rft-dev/rft/tasks/tailworld"
)

// A criterion the simulated proposer writes is an English sentence made from
// a feature key and its parameters; the simulated verifier reads the sentence
// back with the same table. Both see only text: the prompt, the response, the
// criterion.

// Key names a feature of a response as the simulated models perceive it:
// "count", "filter", "facts", "filter_strict", "facts_strict", "list", "attr:speed", "order:speed:desc",
// "summary:fastest", "no_hedge", "max_words", "kind", "intro", "remark",
// "detailed", "wish", and the artifacts "sure", "welcome", "offer_help",
// "numbered", "no_exclaim", "bold".
type Key string

// Family groups keys for salience and for reports.
func (k Key) Family() string {
	s := string(k)
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s[:i]
	}
	return s
}

// template is one sentence form.
type template struct {
	fam    string
	key    func(m []string) Key // key from the regex match
	re     *regexp.Regexp
	render func(k Key, q tailworld.Request, n int) string
}

var attrWords = map[string]tailworld.Attr{"weight": tailworld.Weight, "speed": tailworld.Speed, "age": tailworld.Age,
	"color": tailworld.Color, "home": tailworld.Home}

func filterSentence(q tailworld.Request) string {
	switch q.Filter.Attr {
	case tailworld.Home:
		return "lives in the " + q.Filter.Value
	case tailworld.Kind:
		return "is a " + q.Filter.Value
	}
	return "is " + q.Filter.Value
}

var templates = []template{
	{"count", func(m []string) Key { return "count" }, regexp.MustCompile(`^The response names exactly (\d+) animals?\.$`),
		func(_ Key, q tailworld.Request, _ int) string {
			return fmt.Sprintf("The response names exactly %d animals.", q.Count)
		}},
	{"filter", func(m []string) Key { return "filter" }, regexp.MustCompile(`^Every animal named (lives in the [a-z]+|is an? [a-z]+|is [a-z]+)\.$`),
		func(_ Key, q tailworld.Request, _ int) string { return "Every animal named " + filterSentence(q) + "." }},
	{"facts", func(m []string) Key { return "facts" }, regexp.MustCompile(`^Every number in the response matches the facts given\.$`),
		func(Key, tailworld.Request, int) string {
			return "Every number in the response matches the facts given."
		}},
	{"filter_strict", func(m []string) Key { return "filter_strict" }, regexp.MustCompile(`^Every animal named (lives in the [a-z]+|is an? [a-z]+|is [a-z]+) according to the facts\.$`),
		func(_ Key, q tailworld.Request, _ int) string {
			return "Every animal named " + filterSentence(q) + " according to the facts."
		}},
	{"facts_strict", func(m []string) Key { return "facts_strict" }, regexp.MustCompile(`^Every number is the one the facts give for that animal\.$`),
		func(Key, tailworld.Request, int) string {
			return "Every number is the one the facts give for that animal."
		}},
	{"list", func(m []string) Key { return "list" }, regexp.MustCompile(`^Each animal is on its own line\.$`),
		func(Key, tailworld.Request, int) string { return "Each animal is on its own line." }},
	{"wish", func(m []string) Key { return "wish" }, regexp.MustCompile(`^The response names ([a-z]+) animals\.$`),
		func(_ Key, q tailworld.Request, _ int) string {
			return "The response names " + q.Intent.Adjective() + " animals."
		}},
	{"detailed", func(m []string) Key { return "detailed" }, regexp.MustCompile(`^The response is detailed\.$`),
		func(Key, tailworld.Request, int) string { return "The response is detailed." }},
	{"attr", func(m []string) Key { return Key("attr:" + m[1]) }, regexp.MustCompile(`^The response gives the (weight|speed|age|color|home) of every animal\.$`),
		func(k Key, _ tailworld.Request, _ int) string {
			return "The response gives the " + strings.TrimPrefix(string(k), "attr:") + " of every animal."
		}},
	{"order", func(m []string) Key {
		d := "desc"
		if m[1] == "lowest" {
			d = "asc"
		}
		return Key("order:" + m[2] + ":" + d)
	}, regexp.MustCompile(`^The animals are listed from the (highest|lowest) (weight|speed|age) to the (?:lowest|highest)\.$`),
		func(k Key, _ tailworld.Request, _ int) string {
			p := strings.Split(string(k), ":")
			if len(p) != 3 {
				return ""
			}
			from, to := "highest", "lowest"
			if p[2] == "asc" {
				from, to = to, from
			}
			return fmt.Sprintf("The animals are listed from the %s %s to the %s.", from, p[1], to)
		}},
	{"summary", func(m []string) Key { return Key("summary:" + m[1]) }, regexp.MustCompile(`^The response ends with a sentence that names the ([a-z]+) animal\.$`),
		func(k Key, _ tailworld.Request, _ int) string {
			return "The response ends with a sentence that names the " + strings.TrimPrefix(string(k), "summary:") + " animal."
		}},
	{"no_hedge", func(m []string) Key { return "no_hedge" }, regexp.MustCompile(`^The response does not hedge with words like maybe or I think\.$`),
		func(Key, tailworld.Request, int) string {
			return "The response does not hedge with words like maybe or I think."
		}},
	{"max_words", func(m []string) Key { return Key("max_words:" + m[1]) }, regexp.MustCompile(`^The response uses at most (\d+) words\.$`),
		func(k Key, _ tailworld.Request, _ int) string {
			return "The response uses at most " + strings.TrimPrefix(string(k), "max_words:") + " words."
		}},
	{"kind", func(m []string) Key { return "kind" }, regexp.MustCompile(`^The response gives the kind of every animal\.$`),
		func(Key, tailworld.Request, int) string { return "The response gives the kind of every animal." }},
	{"intro", func(m []string) Key { return "intro" }, regexp.MustCompile(`^The response opens with a sentence that restates the request\.$`),
		func(Key, tailworld.Request, int) string {
			return "The response opens with a sentence that restates the request."
		}},
	{"remark", func(m []string) Key { return "remark" }, regexp.MustCompile(`^The response adds a friendly remark about the animals\.$`),
		func(Key, tailworld.Request, int) string {
			return "The response adds a friendly remark about the animals."
		}},
	{"sure", func(m []string) Key { return "sure" }, regexp.MustCompile(`^The response opens with a friendly word such as Sure\.$`),
		func(Key, tailworld.Request, int) string {
			return "The response opens with a friendly word such as Sure."
		}},
	{"welcome", func(m []string) Key { return "welcome" }, regexp.MustCompile(`^The response welcomes the question\.$`),
		func(Key, tailworld.Request, int) string { return "The response welcomes the question." }},
	{"offer_help", func(m []string) Key { return "offer_help" }, regexp.MustCompile(`^The response ends by offering help\.$`),
		func(Key, tailworld.Request, int) string { return "The response ends by offering help." }},
	{"numbered", func(m []string) Key { return "numbered" }, regexp.MustCompile(`^The animals are numbered\.$`),
		func(Key, tailworld.Request, int) string { return "The animals are numbered." }},
	{"no_exclaim", func(m []string) Key { return "no_exclaim" }, regexp.MustCompile(`^The response does not use exclamation marks\.$`),
		func(Key, tailworld.Request, int) string { return "The response does not use exclamation marks." }},
	{"bold", func(m []string) Key { return "bold" }, regexp.MustCompile(`^The animal names are in bold\.$`),
		func(Key, tailworld.Request, int) string { return "The animal names are in bold." }},
}

// Sentence writes the criterion for key k on request q.
func Sentence(k Key, q tailworld.Request) string {
	for _, t := range templates {
		if t.fam != k.Family() {
			continue
		}
		if s := t.render(k, q, 0); t.re.MatchString(s) {
			return s
		}
	}
	return ""
}

// KeyOf reads a criterion sentence back to its key; ok is false for text
// the table does not know (an LLM's criterion).
func KeyOf(text string) (Key, bool) {
	text = strings.TrimSpace(text)
	for _, t := range templates {
		if m := t.re.FindStringSubmatch(text); m != nil {
			return t.key(m), true
		}
	}
	return "", false
}

// maxWords returns N of a "max_words:N" key.
func maxWords(k Key) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(string(k), "max_words:"))
	return n
}
