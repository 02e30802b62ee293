package truth

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/rft-dev/rft/tasks/tailworld"
)

// Claim is one attribute a response states about a named item.
type Claim struct {
	Name  string
	Attr  tailworld.Attr
	Num   int    // numeric attributes
	Word  string // color, home, kind
	Right bool   // matches the facts
}

// Reading is what the oracle reads off a response: strictly, against the
// facts the prompt carries.
type Reading struct {
	Names      []string // distinct fact names, in order of first mention
	ItemLines  int      // lines that start with "- " or "N. "
	ListOK     bool     // every name first appears alone on its own item line
	Claims     []Claim
	Summary    []string // names of closing sentences "X is the <superlative>" with the wish's superlative
	OtherSup   bool     // a superlative sentence with another superlative
	Hedged     bool
	Words      int
	Shapes     []string // per item line: which attributes it states, for coherence
	Duplicate  bool     // a sentence repeated verbatim
	UnknownCap int      // capitalised words that are neither fact names nor the language's openers (invented names)
}

var (
	itemRe  = regexp.MustCompile(`^(?:- |\d+\. )`)
	tokenRe = regexp.MustCompile(`km/h|\*\*|[A-Za-z]+|\d+|[.!?,]`)
)

// Read parses a response against request q.
func Read(q tailworld.Request, text string) Reading {
	var rd Reading
	known := map[string]bool{}
	for _, e := range q.Facts {
		known[e.Name] = true
	}
	seen := map[string]bool{}
	sentences := map[string]bool{}
	rd.ListOK = true
	for _, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		isItem := itemRe.MatchString(line)
		body := line
		if isItem {
			rd.ItemLines++
			body = itemRe.ReplaceAllString(line, "")
		}
		// Words: list markers and bold marks are not words.
		for _, f := range strings.Fields(body) {
			if strings.Trim(f, "-.*!?,:0123456789") != "" || isNumber(f) {
				rd.Words++
			}
		}
		for _, s := range splitSentences(body) {
			key := strings.ToLower(s)
			if sentences[key] && len(key) > 3 {
				rd.Duplicate = true
			}
			sentences[key] = true
		}
		// Hedges.
		low := " " + strings.ToLower(strings.NewReplacer(",", " ", ".", " ", "!", " ", "?", " ").Replace(line)) + " "
		for _, h := range tailworld.Hedges {
			if strings.Contains(low, " "+strings.ToLower(h)+" ") {
				rd.Hedged = true
			}
		}
		// Names, claims, superlatives: a claim belongs to the last name
		// mentioned in its sentence.
		lineNames := 0
		var shape []string
		for _, s := range splitSentences(body) {
			toks := tokenRe.FindAllString(s, -1)
			subject := ""
			var supName string
			sup := ""
			// Words said before the sentence's first name describe it ("The
			// forest fox Bralo ..."): they are held until the name comes.
			var pending []Claim
			for i := 0; i < len(toks); i++ {
				t := toks[i]
				if known[t] {
					if subject == "" {
						e, _ := q.Lookup(t)
						for _, c := range pending {
							c.Name, c.Right = t, e.Word(c.Attr) == c.Word
							rd.Claims = append(rd.Claims, c)
							shape = append(shape, c.Attr.String())
						}
						pending = nil
					}
					subject = t
					if !seen[t] {
						seen[t] = true
						rd.Names = append(rd.Names, t)
						if !isItem {
							rd.ListOK = false
						}
					}
					lineNames++
					if supName == "" {
						supName = t
					}
					continue
				}
				if t[0] >= 'A' && t[0] <= 'Z' && !openers[t] {
					rd.UnknownCap++
				}
				if _, ok := tailworld.IntentOfSuperlative(t); ok {
					sup = t
				}
				if subject == "" {
					if a, ok := wordAttr(t); ok {
						pending = append(pending, Claim{Attr: a, Word: t})
					}
					continue
				}
				e, _ := q.Lookup(subject)
				if n, err := strconv.Atoi(t); err == nil && i+1 < len(toks) {
					for _, a := range tailworld.NumericAttrs {
						if toks[i+1] == a.Unit() {
							rd.Claims = append(rd.Claims, Claim{Name: subject, Attr: a, Num: n, Right: e.Value(a) == n})
							shape = append(shape, a.String())
						}
					}
					continue
				}
				if a, ok := wordAttr(t); ok {
					rd.Claims = append(rd.Claims, Claim{Name: subject, Attr: a, Word: t, Right: e.Word(a) == t})
					shape = append(shape, a.String())
				}
			}
			if sup != "" && !isItem {
				if sup == q.Intent.Superlative() && supName != "" {
					rd.Summary = append(rd.Summary, supName)
				} else {
					rd.OtherSup = true
				}
			}
		}
		if isItem {
			if lineNames != 1 {
				rd.ListOK = false
			}
			rd.Shapes = append(rd.Shapes, strings.Join(shape, "+"))
		}
	}
	if rd.ItemLines == 0 {
		rd.ListOK = false
	}
	return rd
}

// openers are the capitalised words the language uses besides names.
var openers = map[string]bool{"Here": true, "Sure": true, "Great": true, "Hope": true, "I": true, "Maybe": true,
	"Probably": true, "Perhaps": true, "These": true, "The": true, "All": true, "Each": true, "You": true, "But": true}

// wordAttr says which categorical attribute a word names, if any (the
// color, home and kind lists share no word).
func wordAttr(t string) (tailworld.Attr, bool) {
	for _, a := range []tailworld.Attr{tailworld.Color, tailworld.Home, tailworld.Kind} {
		if inList(t, lexicon(a)) {
			return a, true
		}
	}
	return 0, false
}

func lexicon(a tailworld.Attr) []string {
	switch a {
	case tailworld.Color:
		return tailworld.Colors
	case tailworld.Home:
		return tailworld.Homes
	}
	return tailworld.Kinds
}

func splitSentences(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' || s[i] == '!' || s[i] == '?' {
			if t := strings.TrimSpace(s[start : i+1]); t != "" {
				out = append(out, t)
			}
			start = i + 1
		}
	}
	if t := strings.TrimSpace(s[start:]); t != "" {
		out = append(out, t)
	}
	return out
}

func inList(x string, xs []string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func isNumber(s string) bool {
	s = strings.TrimRight(s, ".,!")
	_, err := strconv.Atoi(s)
	return err == nil
}
