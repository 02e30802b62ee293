package report

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Table is a header and rows of text cells, for the HTML template.
type Table struct {
	Columns []string
	Rows    [][]string
}

// metricRow summarises one metric over the run.
type metricRow struct {
	Key                  string
	N                    int
	Last, Best, Min, Max string
	BestStep             string
}

// direction says which way a metric improves: -1 lower, +1 higher, 0 neither
// (KL, learning rate and the like have no best value).
func direction(key string) int {
	switch {
	case strings.Contains(key, "_ci_"), strings.HasSuffix(key, "_std"), strings.HasSuffix(key, "seconds"), strings.HasSuffix(key, "_per_second"):
		return 0
	case strings.Contains(key, "loss"):
		return -1
	case strings.Contains(key, "reward"), strings.Contains(key, "win_rate"), strings.Contains(key, "accuracy"):
		return +1
	}
	return 0
}

// metricRows summarises every numeric metric but the step: last value, best
// value and its step (for metrics with a direction), min and max.
func metricRows(recs []Record) []metricRow {
	var rows []metricRow
	for _, k := range numericKeys(recs) {
		if k == "step" {
			continue
		}
		row := metricRow{Key: k, Last: "-", Best: "-", Min: "-", Max: "-", BestStep: "-"}
		lo, hi := math.Inf(1), math.Inf(-1)
		var loStep, hiStep float64
		for _, r := range recs {
			v, ok := r.Get(k)
			if !ok {
				continue
			}
			row.Last = FormatValue(v)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			row.N++
			if v < lo {
				lo, loStep = v, r.Num["step"]
			}
			if v > hi {
				hi, hiStep = v, r.Num["step"]
			}
		}
		if row.N > 0 {
			row.Min, row.Max = FormatValue(lo), FormatValue(hi)
			switch direction(k) {
			case -1:
				row.Best, row.BestStep = row.Min, FormatValue(loStep)
			case +1:
				row.Best, row.BestStep = row.Max, FormatValue(hiStep)
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// evalColumns are the known keys of eval.jsonl and summary.json records,
// in the order the tables show them.
var evalColumns = []string{"step", "checkpoint", "model", "kl", "win_rate", "ci_low", "ci_high", "wins", "ties", "losses", "n"}

// orderColumns puts the known keys first, in their order, then the rest sorted.
func orderColumns(seen map[string]bool) []string {
	var cols []string
	for _, k := range evalColumns {
		if seen[k] {
			cols = append(cols, k)
		}
	}
	for _, k := range sortedKeys(seen) {
		if !slices.Contains(evalColumns, k) {
			cols = append(cols, k)
		}
	}
	return cols
}

func evalTable(recs []Record) *Table {
	if len(recs) == 0 {
		return nil
	}
	seen := map[string]bool{}
	for _, r := range recs {
		for k := range r.Num {
			seen[k] = true
		}
		for k := range r.Str {
			seen[k] = true
		}
	}
	t := &Table{Columns: orderColumns(seen)}
	for _, r := range recs {
		row := make([]string, len(t.Columns))
		for i, k := range t.Columns {
			if v, ok := r.Num[k]; ok {
				row[i] = FormatValue(v)
			} else {
				row[i] = r.Str[k]
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// summaryTable lays out summary.json: an object (or array) of flat objects
// (one per evaluated model, as rft eval writes it) becomes one row per
// model; anything else becomes key/value rows with dotted paths.
func summaryTable(v any) *Table {
	if v == nil {
		return nil
	}
	var names []string
	var objs []map[string]any
	switch v := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			o, ok := v[k].(map[string]any)
			if !ok || !flat(o) {
				objs = nil
				break
			}
			names, objs = append(names, k), append(objs, o)
		}
	case []any:
		for i, e := range v {
			o, ok := e.(map[string]any)
			if !ok || !flat(o) {
				objs = nil
				break
			}
			names, objs = append(names, strconv.Itoa(i)), append(objs, o)
		}
	}
	if len(objs) > 0 && len(objs) == len(names) {
		cols := map[string]bool{}
		for _, o := range objs {
			for k := range o {
				cols[k] = true
			}
		}
		t := &Table{Columns: append([]string{""}, orderColumns(cols)...)}
		for i, o := range objs {
			row := []string{names[i]}
			for _, k := range t.Columns[1:] {
				row = append(row, scalarText(o[k]))
			}
			t.Rows = append(t.Rows, row)
		}
		return t
	}
	t := &Table{Columns: []string{"key", "value"}}
	flatten("", v, func(k, val string) { t.Rows = append(t.Rows, []string{k, val}) })
	return t
}

func flat(o map[string]any) bool {
	for _, v := range o {
		switch v.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return len(o) > 0
}

func flatten(prefix string, v any, emit func(k, v string)) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch v := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			flatten(join(k), v[k], emit)
		}
	case []any:
		for i, e := range v {
			flatten(join(strconv.Itoa(i)), e, emit)
		}
	default:
		emit(prefix, scalarText(v))
	}
}

func scalarText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case float64:
		return FormatValue(v)
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	}
	data, _ := json.Marshal(v)
	return string(data)
}

// FormatValue formats a metric value for tables: integers as integers,
// otherwise four significant digits, scientific notation for tiny or huge
// values (learning rates, token counts).
func FormatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	if a := math.Abs(v); a >= 1e6 || a < 1e-3 {
		return strconv.FormatFloat(v, 'e', 3, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
