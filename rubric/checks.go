package rubric

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// CheckFunc evaluates a programmatic criterion on a response: true means met.
// It must be deterministic. An error means the arguments are wrong, and is
// reported when the rubric is loaded (ValidateCheck calls it on "").
type CheckFunc func(response string, args map[string]any) (bool, error)

var checks = struct {
	sync.RWMutex
	m map[string]CheckFunc
}{m: map[string]CheckFunc{}}

// RegisterCheck adds a named checker, for packages with their own programmatic
// criteria. It panics on an empty or duplicate name, as http.Handle does.
func RegisterCheck(name string, fn CheckFunc) {
	checks.Lock()
	defer checks.Unlock()
	if name == "" || fn == nil {
		panic("rubric: RegisterCheck with an empty name or nil function")
	}
	if _, dup := checks.m[name]; dup {
		panic("rubric: RegisterCheck called twice for " + name)
	}
	checks.m[name] = fn
}

// CheckNames lists the registered checkers, sorted.
func CheckNames() []string {
	checks.RLock()
	defer checks.RUnlock()
	names := make([]string, 0, len(checks.m))
	for n := range checks.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// RunCheck evaluates a programmatic criterion locally.
func RunCheck(c *Check, response string) (bool, error) {
	checks.RLock()
	fn := checks.m[c.Name]
	checks.RUnlock()
	if fn == nil {
		return false, fmt.Errorf("unknown check %q (known: %s)", c.Name, strings.Join(CheckNames(), ", "))
	}
	return fn(response, c.Args)
}

// ValidateCheck reports an unknown checker or bad arguments, by running the
// checker once on an empty response.
func ValidateCheck(c *Check) error {
	if _, err := RunCheck(c, ""); err != nil {
		return fmt.Errorf("check %s: %w", c.Name, err)
	}
	return nil
}

func init() {
	RegisterCheck("regex", checkRegex)
	RegisterCheck("contains", func(resp string, args map[string]any) (bool, error) {
		return checkContains(resp, args, true)
	})
	RegisterCheck("not_contains", func(resp string, args map[string]any) (bool, error) {
		return checkContains(resp, args, false)
	})
	RegisterCheck("word_count", checkWordCount)
	RegisterCheck("valid_json", checkValidJSON)
}

var regexCache sync.Map // pattern → *regexp.Regexp

// checkRegex: args {pattern: RE2, match: true|false (default true)}.
func checkRegex(resp string, args map[string]any) (bool, error) {
	pat, err := stringArg(args, "pattern", true)
	if err != nil {
		return false, err
	}
	var re *regexp.Regexp
	if v, ok := regexCache.Load(pat); ok {
		re = v.(*regexp.Regexp)
	} else {
		re, err = regexp.Compile(pat)
		if err != nil {
			return false, fmt.Errorf("pattern: %w", err)
		}
		regexCache.Store(pat, re)
	}
	want, err := boolArg(args, "match", true)
	if err != nil {
		return false, err
	}
	return re.MatchString(resp) == want, nil
}

// checkContains: args {text: "..."} or {any: ["...", ...]}, case_sensitive
// (default false). contains is met when the text (any of them) occurs;
// not_contains when none does.
func checkContains(resp string, args map[string]any, want bool) (bool, error) {
	var needles []string
	if t, err := stringArg(args, "text", false); err != nil {
		return false, err
	} else if t != "" {
		needles = append(needles, t)
	}
	if v, ok := args["any"]; ok {
		list, ok := v.([]any)
		if !ok {
			return false, fmt.Errorf("any: want a list of strings, got %T", v)
		}
		for _, x := range list {
			s, ok := x.(string)
			if !ok || s == "" {
				return false, fmt.Errorf("any: want non-empty strings, got %v", x)
			}
			needles = append(needles, s)
		}
	}
	if len(needles) == 0 {
		return false, fmt.Errorf("needs text or any")
	}
	cs, err := boolArg(args, "case_sensitive", false)
	if err != nil {
		return false, err
	}
	if !cs {
		resp = strings.ToLower(resp)
	}
	found := false
	for _, n := range needles {
		if !cs {
			n = strings.ToLower(n)
		}
		if strings.Contains(resp, n) {
			found = true
			break
		}
	}
	return found == want, nil
}

// checkWordCount: args {min: N, max: M}, either optional, inclusive; words
// are runs of non-space characters.
func checkWordCount(resp string, args map[string]any) (bool, error) {
	lo, hasLo, err := numberArg(args, "min")
	if err != nil {
		return false, err
	}
	hi, hasHi, err := numberArg(args, "max")
	if err != nil {
		return false, err
	}
	if !hasLo && !hasHi {
		return false, fmt.Errorf("needs min or max")
	}
	if hasLo && hasHi && lo > hi {
		return false, fmt.Errorf("min %v > max %v", lo, hi)
	}
	n := float64(len(strings.Fields(resp)))
	return (!hasLo || n >= lo) && (!hasHi || n <= hi), nil
}

// checkValidJSON: the response (without surrounding space or a code fence)
// is one JSON value.
func checkValidJSON(resp string, args map[string]any) (bool, error) {
	s := strings.TrimSpace(resp)
	if body, ok := stripFence(s); ok {
		s = strings.TrimSpace(body)
	}
	return json.Valid([]byte(s)), nil
}

func stringArg(args map[string]any, key string, required bool) (string, error) {
	v, ok := args[key]
	if !ok {
		if required {
			return "", fmt.Errorf("needs %s", key)
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: want a string, got %T", key, v)
	}
	if required && s == "" {
		return "", fmt.Errorf("%s is empty", key)
	}
	return s, nil
}

func boolArg(args map[string]any, key string, def bool) (bool, error) {
	v, ok := args[key]
	if !ok {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%s: want true or false, got %v", key, v)
	}
	return b, nil
}

// numberArg accepts the numbers of JSON (float64) and YAML (int) decoding.
func numberArg(args map[string]any, key string) (float64, bool, error) {
	v, ok := args[key]
	if !ok {
		return 0, false, nil
	}
	switch x := v.(type) {
	case float64:
		return x, true, nil
	case int:
		return float64(x), true, nil
	case int64:
		return float64(x), true, nil
	case json.Number:
		f, err := x.Float64()
		return f, err == nil, err
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, false, fmt.Errorf("%s: %q is not a number", key, x)
		}
		return f, true, nil
	}
	return 0, false, fmt.Errorf("%s: want a number, got %T", key, v)
}
