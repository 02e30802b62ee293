package plot

import (
	"math"
	"strconv"
	"strings"
)

// niceStep returns a step of the form {1, 2, 5}×10^k that splits span into
// about target intervals.
func niceStep(span float64, target int) float64 {
	if span <= 0 || target < 1 {
		return 1
	}
	raw := span / float64(target)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	switch norm := raw / mag; {
	case norm < 1.5:
		return mag
	case norm < 3.5:
		return 2 * mag
	case norm < 7.5:
		return 5 * mag
	default:
		return 10 * mag
	}
}

// ticks returns the multiples of step inside [lo, hi]. Each value is k×step
// for an integer k, so no rounding error accumulates (0.30000000000000004).
func ticks(lo, hi, step float64) []float64 {
	var out []float64
	first := math.Ceil(lo/step - 1e-9)
	last := math.Floor(hi/step + 1e-9)
	for k := first; k <= last && len(out) < 100; k++ {
		v := k * step
		if v == 0 {
			v = 0 // drop a negative zero
		}
		out = append(out, v)
	}
	return out
}

// tickLabels formats tick values with just enough digits to tell them
// apart: plain decimals for ordinary ranges, scientific notation for tiny
// (learning rates) or huge (token counts) ones.
func tickLabels(vals []float64, step float64) []string {
	maxAbs := 0.0
	for _, v := range vals {
		maxAbs = math.Max(maxAbs, math.Abs(v))
	}
	stepExp := int(math.Floor(math.Log10(step) + 1e-9))
	out := make([]string, len(vals))
	sci := maxAbs >= 1e6 || (maxAbs > 0 && maxAbs < 1e-3)
	for i, v := range vals {
		switch {
		case v == 0:
			out[i] = "0"
		case sci:
			digits := int(math.Floor(math.Log10(maxAbs)+1e-9)) - stepExp
			digits = max(0, min(digits, 4))
			out[i] = shortExp(strconv.FormatFloat(v, 'e', digits, 64))
		default:
			out[i] = strconv.FormatFloat(v, 'f', max(0, -stepExp), 64)
		}
	}
	return out
}

// shortExp turns "5.0e-05" into "5.0e-5" and "1e+06" into "1e6".
func shortExp(s string) string {
	mant, exp, ok := strings.Cut(s, "e")
	if !ok {
		return s
	}
	sign := ""
	if exp[0] == '-' {
		sign = "-"
	}
	exp = strings.TrimLeft(exp[1:], "0")
	if exp == "" {
		exp = "0"
	}
	return mant + "e" + sign + exp
}
