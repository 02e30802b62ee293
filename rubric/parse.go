package rubric

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// One parser reads every model's answer, LLM or simulated: it finds the JSON
// in the text (the whole text, a code fence, or the first balanced value
// inside prose) and forgives trailing commas.

// ErrNoJSON means an answer held no parsable JSON value.
var ErrNoJSON = errors.New("no JSON value in the answer")

// ExtractJSON returns the first JSON value found in raw, with trailing commas
// removed: the whole text, then each fenced block, then each balanced {…} or
// […] span in order.
func ExtractJSON(raw string) ([]byte, error) {
	s := strings.TrimSpace(raw)
	try := func(c string) []byte {
		b := removeTrailingCommas([]byte(strings.TrimSpace(c)))
		if len(b) > 0 && (b[0] == '{' || b[0] == '[') && json.Valid(b) {
			return b
		}
		return nil
	}
	if b := try(s); b != nil {
		return b, nil
	}
	rest := s
	for {
		body, ok := stripFence(rest)
		if !ok {
			break
		}
		if b := try(body); b != nil {
			return b, nil
		}
		if b := scanBalanced(body, try); b != nil {
			return b, nil
		}
		i := strings.Index(rest, "```")
		j := strings.Index(rest[i+3:], "```")
		if j < 0 {
			break
		}
		rest = rest[i+3+j+3:]
	}
	if b := scanBalanced(s, try); b != nil {
		return b, nil
	}
	return nil, ErrNoJSON
}

// scanBalanced tries every balanced span that starts at a '{' or '['.
func scanBalanced(s string, try func(string) []byte) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] != '{' && s[i] != '[' {
			continue
		}
		if end := matchBracket(s, i); end > i {
			if b := try(s[i : end+1]); b != nil {
				return b
			}
		}
	}
	return nil
}

// matchBracket returns the index of the bracket closing s[i], skipping
// strings, or -1.
func matchBracket(s string, i int) int {
	depth := 0
	inStr, esc := false, false
	for j := i; j < len(s); j++ {
		c := s[j]
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// stripFence returns the body of the first ``` code fence (its info string,
// e.g. "json", dropped). An unclosed fence runs to the end.
func stripFence(s string) (string, bool) {
	i := strings.Index(s, "```")
	if i < 0 {
		return "", false
	}
	body := s[i+3:]
	if nl := strings.IndexByte(body, '\n'); nl >= 0 && !strings.ContainsAny(body[:nl], "{[") {
		body = body[nl+1:]
	}
	if j := strings.Index(body, "```"); j >= 0 {
		body = body[:j]
	}
	return body, true
}

// removeTrailingCommas drops a comma followed (after space) by } or ],
// outside strings.
func removeTrailingCommas(b []byte) []byte {
	out := make([]byte, 0, len(b))
	inStr, esc := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			out = append(out, c)
			continue
		}
		if c == '"' {
			inStr = true
		}
		if c == ',' {
			j := i + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
				j++
			}
			if j < len(b) && (b[j] == '}' || b[j] == ']') {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// ordered JSON: objects keep their key order, which the {"criterion": weight}
// map form needs (Go maps would shuffle the criteria).
type jsonKV struct {
	Key   string
	Value any
}
type jsonObject []jsonKV

func (o jsonObject) get(keys ...string) (any, bool) {
	for _, k := range keys {
		for _, kv := range o {
			if strings.EqualFold(kv.Key, k) {
				return kv.Value, true
			}
		}
	}
	return nil, false
}

// decodeOrdered decodes one JSON value: objects as jsonObject, arrays as
// []any, numbers as json.Number.
func decodeOrdered(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("text after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			var obj jsonObject
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				obj = append(obj, jsonKV{k.(string), v})
			}
			_, err := dec.Token()
			return obj, err
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token()
			return arr, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil
	}
}

// ParseRubric reads a proposer's answer into criteria (ids c1…cN). It takes
// {"criteria": [...]}, {"rubric": [...]}, a bare array, the criteria given as
// a JSON string, or a {"criterion text": weight} object; items are objects
// with criterion/text and weight, or plain strings. Irregularities that lose
// nothing essential (a weight written as a word, a missing weight) come back
// as warnings; an answer with no usable criterion is an error.
func ParseRubric(raw string) ([]Criterion, []string, error) {
	b, err := ExtractJSON(raw)
	if err != nil {
		return nil, nil, err
	}
	v, err := decodeOrdered(b)
	if err != nil {
		return nil, nil, err
	}
	crits, warns, err := criteriaFromValue(v, 0)
	if err != nil {
		return nil, warns, err
	}
	if len(crits) == 0 {
		return nil, warns, errors.New("no criteria in the answer")
	}
	r := Rubric{Criteria: crits}
	r.AssignIDs()
	return r.Criteria, warns, nil
}

var (
	textKeys   = []string{"criterion", "text", "description", "requirement", "title"}
	weightKeys = []string{"weight", "points", "importance", "score"}
	listKeys   = []string{"criteria", "rubric", "rubrics", "items"}
)

func criteriaFromValue(v any, depth int) ([]Criterion, []string, error) {
	if depth > 3 {
		return nil, nil, errors.New("criteria nested too deeply")
	}
	switch x := v.(type) {
	case string:
		// Criteria given as a JSON string (an irregular record).
		b, err := ExtractJSON(x)
		if err != nil {
			return nil, nil, fmt.Errorf("criteria given as a string that holds no JSON")
		}
		inner, err := decodeOrdered(b)
		if err != nil {
			return nil, nil, err
		}
		c, w, err := criteriaFromValue(inner, depth+1)
		return c, append([]string{"criteria given as a JSON string"}, w...), err
	case []any:
		var out []Criterion
		var warns []string
		for i, item := range x {
			c, w, err := criterionFromItem(item)
			for _, s := range w {
				warns = append(warns, fmt.Sprintf("criterion %d: %s", i+1, s))
			}
			if err != nil {
				return nil, warns, fmt.Errorf("criterion %d: %w", i+1, err)
			}
			out = append(out, c)
		}
		return out, warns, nil
	case jsonObject:
		if list, ok := x.get(listKeys...); ok {
			return criteriaFromValue(list, depth+1)
		}
		// {"criterion text": weight, ...}
		var out []Criterion
		warns := []string{"criteria given as a {text: weight} map"}
		for _, kv := range x {
			w, warn, err := parseWeight(kv.Value)
			if err != nil {
				return nil, warns, fmt.Errorf("criterion %q: %w", kv.Key, err)
			}
			if warn != "" {
				warns = append(warns, fmt.Sprintf("criterion %q: %s", kv.Key, warn))
			}
			out = append(out, Criterion{Text: strings.TrimSpace(kv.Key), Weight: w})
		}
		return out, warns, nil
	}
	return nil, nil, fmt.Errorf("want a list of criteria, got %s", jsonKind(v))
}

func criterionFromItem(item any) (Criterion, []string, error) {
	switch x := item.(type) {
	case string:
		if strings.TrimSpace(x) == "" {
			return Criterion{}, nil, errors.New("empty text")
		}
		return Criterion{Text: strings.TrimSpace(x), Weight: 1}, []string{"no weight, 1 assumed"}, nil
	case jsonObject:
		tv, ok := x.get(textKeys...)
		text, _ := tv.(string)
		if !ok || strings.TrimSpace(text) == "" {
			return Criterion{}, nil, errors.New("no criterion text")
		}
		c := Criterion{Text: strings.TrimSpace(text), Weight: 1}
		var warns []string
		if wv, ok := x.get(weightKeys...); ok {
			w, warn, err := parseWeight(wv)
			if err != nil {
				return Criterion{}, nil, err
			}
			if warn != "" {
				warns = append(warns, warn)
			}
			c.Weight = w
		} else {
			warns = append(warns, "no weight, 1 assumed")
		}
		if tv, ok := x.get("tags"); ok {
			if list, ok := tv.([]any); ok {
				for _, t := range list {
					if s, ok := t.(string); ok {
						c.Tags = append(c.Tags, s)
					}
				}
			}
		}
		return c, warns, nil
	}
	return Criterion{}, nil, fmt.Errorf("want an object or a string, got %s", jsonKind(item))
}

// parseWeight reads a weight: a number; a numeric string (warning); a word
// high/medium/low (warning, 3/2/1, the paper's scale); anything else is read
// as 1 with a warning naming the value.
func parseWeight(v any) (float64, string, error) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return 0, "", fmt.Errorf("weight %s: %w", x, err)
		}
		if f == 0 {
			return 0, "", errors.New("weight 0")
		}
		return f, "", nil
	case string:
		s := strings.TrimSpace(x)
		var f float64
		if _, err := fmt.Sscanf(s, "%g", &f); err == nil && f != 0 {
			return f, fmt.Sprintf("weight %q is not a number, read as %g", x, f), nil
		}
		switch strings.ToLower(s) {
		case "high", "critical", "essential", "important":
			return 3, fmt.Sprintf("weight %q is not a number, read as 3", x), nil
		case "medium", "moderate":
			return 2, fmt.Sprintf("weight %q is not a number, read as 2", x), nil
		case "low", "minor", "optional":
			return 1, fmt.Sprintf("weight %q is not a number, read as 1", x), nil
		}
		return 1, fmt.Sprintf("weight %q is not a number, 1 assumed", x), nil
	case nil:
		return 1, "weight null, 1 assumed", nil
	case bool:
		return 1, fmt.Sprintf("weight %v is not a number, 1 assumed", x), nil
	}
	return 0, "", fmt.Errorf("weight: want a number, got %s", jsonKind(v))
}

func jsonKind(v any) string {
	switch v.(type) {
	case jsonObject:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// ParseVerdicts reads a verifier's answer for the given criterion ids:
// {"c1": "yes", "c2": "no"}; values may also be booleans, 1/0, or objects
// with a verdict/answer/met field. Ids missing from the answer, or with an
// unreadable value, are absent from the map (the caller asks again). An
// answer with no JSON, or with no verdict for any asked id, is an error
// (a parse failure, retried at temperature 1).
func ParseVerdicts(raw string, ids []string) (map[string]bool, error) {
	b, err := ExtractJSON(raw)
	if err != nil {
		if len(ids) == 1 {
			if v, ok := verdictWord(firstWord(raw)); ok {
				return map[string]bool{ids[0]: v}, nil
			}
		}
		return nil, err
	}
	v, err := decodeOrdered(b)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(jsonObject)
	if !ok {
		return nil, fmt.Errorf("want a JSON object of verdicts, got %s", jsonKind(v))
	}
	out := map[string]bool{}
	for _, id := range ids {
		if val, ok := obj.get(id); ok {
			if met, ok := verdictValue(val); ok {
				out[id] = met
			}
		}
	}
	if len(out) == 0 && len(ids) == 1 {
		// One criterion, answered as {"verdict": "yes"} or
		// {"criteria_met": true} (HealthBench's grader format).
		if val, ok := obj.get("verdict", "answer", "met", "criteria_met", "result"); ok {
			if met, ok := verdictValue(val); ok {
				out[ids[0]] = met
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no verdict for any asked criterion")
	}
	return out, nil
}

func verdictValue(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		return verdictWord(x)
	case json.Number:
		switch x.String() {
		case "1":
			return true, true
		case "0":
			return false, true
		}
	case jsonObject:
		if val, ok := x.get("verdict", "answer", "met", "criteria_met", "result"); ok {
			return verdictValue(val)
		}
	}
	return false, false
}

func verdictWord(s string) (bool, bool) {
	switch strings.ToLower(strings.Trim(strings.TrimSpace(s), ".,;:!\"'")) {
	case "yes", "y", "true", "met", "pass", "passed", "1":
		return true, true
	case "no", "n", "false", "not met", "unmet", "fail", "failed", "0":
		return false, true
	}
	return false, false
}

func firstWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// ParseHolisticScore reads an implicit-aggregation answer, {"score": N} or a
// bare number, N in [1, 10], and normalises it to [0, 1] as (N-1)/9.
func ParseHolisticScore(raw string) (float64, error) {
	var n float64
	if b, err := ExtractJSON(raw); err == nil {
		v, err := decodeOrdered(b)
		if err != nil {
			return 0, err
		}
		obj, ok := v.(jsonObject)
		if !ok {
			return 0, fmt.Errorf("want {\"score\": N}, got %s", jsonKind(v))
		}
		sv, ok := obj.get("score", "rating")
		if !ok {
			return 0, errors.New("no score in the answer")
		}
		switch x := sv.(type) {
		case json.Number:
			n, err = x.Float64()
		case string:
			_, err = fmt.Sscanf(strings.TrimSpace(x), "%g", &n)
		default:
			err = fmt.Errorf("score: want a number, got %s", jsonKind(sv))
		}
		if err != nil {
			return 0, err
		}
	} else if _, err := fmt.Sscanf(strings.TrimSpace(raw), "%g", &n); err != nil {
		return 0, ErrNoJSON
	}
	if n < 1 || n > 10 {
		return 0, fmt.Errorf("score %g outside 1–10", n)
	}
	return (n - 1) / 9, nil
}
