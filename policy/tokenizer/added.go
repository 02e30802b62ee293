package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// addedToken is an entry of tokenizer.json's added_tokens. Hugging Face
// splits them out of the text before normalisation and pre-tokenisation.
type addedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// matcher finds added tokens leftmost-longest, as the Aho-Corasick automaton
// of Hugging Face's AddedVocabulary (MatchKind::LeftmostLongest) does.
type matcher struct {
	byFirst [256][]int // pattern indices by first byte, longest first
	pats    []string
	toks    []*addedToken
}

func newMatcher(toks []*addedToken, pattern func(*addedToken) string) *matcher {
	m := &matcher{}
	for _, t := range toks {
		p := pattern(t)
		if p == "" {
			continue
		}
		i := len(m.pats)
		m.pats = append(m.pats, p)
		m.toks = append(m.toks, t)
		l := m.byFirst[p[0]]
		j := len(l)
		for j > 0 && len(m.pats[l[j-1]]) < len(p) {
			j--
		}
		l = append(l, 0)
		copy(l[j+1:], l[j:])
		l[j] = i
		m.byFirst[p[0]] = l
	}
	if len(m.pats) == 0 {
		return nil
	}
	return m
}

// split cuts s into pieces, calling emit(piece, nil) for ordinary text and
// emit(matched, token) for an added token, honouring single_word, lstrip and
// rstrip as AddedVocabulary::find_matches does.
func (m *matcher) split(s string, emit func(string, *addedToken)) {
	if m == nil {
		emit(s, nil)
		return
	}
	startOffset := 0
	for i := 0; i < len(s); {
		k := -1
		for _, p := range m.byFirst[s[i]] {
			if len(s)-i >= len(m.pats[p]) && s[i:i+len(m.pats[p])] == m.pats[p] {
				k = p
				break
			}
		}
		if k < 0 {
			i++
			continue
		}
		start, stop := i, i+len(m.pats[k])
		i = stop
		t := m.toks[k]
		if t.SingleWord && ((start > 0 && endsWithWord(s[:start])) || (stop < len(s) && startsWithWord(s[stop:]))) {
			continue
		}
		if start < startOffset { // an rstrip before swallowed this match's start
			continue
		}
		if t.LStrip {
			start = max(spaceStartAtEnd(s[:start]), startOffset)
		}
		if t.RStrip {
			stop += spaceLenAtStart(s[stop:])
			i = max(i, stop)
		}
		if startOffset < start {
			emit(s[startOffset:start], nil)
		}
		emit(s[start:stop], t)
		startOffset = stop
	}
	if startOffset < len(s) {
		emit(s[startOffset:], nil)
	}
}

// isWordChar is the Unicode \w of Rust's regex crate, which single_word
// tests with: Alphabetic, marks, decimal digits, connector punctuation (_)
// and the joiners.
func isWordChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_Alphabetic, r) ||
		unicode.IsMark(r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r) || r == 0x200C || r == 0x200D
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return isWordChar(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isWordChar(r)
}

func spaceStartAtEnd(s string) int {
	i := len(s)
	for i > 0 {
		r, w := utf8.DecodeLastRuneInString(s[:i])
		if !unicode.IsSpace(r) {
			break
		}
		i -= w
	}
	return i
}

func spaceLenAtStart(s string) int {
	n := 0
	for n < len(s) {
		r, w := utf8.DecodeRuneInString(s[n:])
		if !unicode.IsSpace(r) {
			break
		}
		n += w
	}
	return n
}
