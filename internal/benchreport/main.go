// Command benchreport turns `go test -bench` output (and the JSON lines of
// compat/bench_torch_step.py) into the side-by-side tables of
// docs/BENCHMARKS.md, with the ratios computed from numbers measured in the
// same run. It reads stdin and writes markdown to stdout.
//
//	go test -run '^$' -bench . ./policy/linalg/ | go run ./internal/benchreport
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// benchLine matches "BenchmarkName/sub-8   N   123 ns/op   4.5 unit ...".
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

type result map[string]float64 // unit → value

func main() {
	results := map[string]result{}
	var torch []map[string]any
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "{") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["tokens_per_s"] != nil {
				torch = append(torch, rec)
			}
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		f := strings.Fields(m[2])
		r := result{}
		for i := 0; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				r[f[i+1]] = v
			}
		}
		results[m[1]] = r
	}
	matmulTable(results)
	stepTable(results, torch)
	otherTable(results)
}

// matmulTable: one row per shape, GFLOP/s per backend and worker count, and
// the ratios the goals are stated in.
func matmulTable(results map[string]result) {
	re := regexp.MustCompile(`^BenchmarkMatmul/(.+)/(portable|avx2|openblas)/w(\d+)$`)
	rows := map[string]map[string]float64{}
	for name, r := range results {
		m := re.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		if rows[m[1]] == nil {
			rows[m[1]] = map[string]float64{}
		}
		rows[m[1]][m[2]+"/w"+m[3]] = r["GFLOP/s"]
		delete(results, name)
	}
	if len(rows) == 0 {
		return
	}
	cols := []string{"portable/w1", "avx2/w1", "openblas/w1", "avx2/w2", "openblas/w2"}
	fmt.Println("| shape | " + strings.Join(cols, " | ") + " | avx2/openblas w1 | avx2 w2/w1 | avx2 w2 / openblas w1 |")
	fmt.Println("|---" + strings.Repeat("|---", len(cols)+3) + "|")
	for _, shape := range sortedKeys(rows) {
		r := rows[shape]
		cells := []string{shape}
		for _, c := range cols {
			cells = append(cells, num(r[c]))
		}
		cells = append(cells, ratio(r["avx2/w1"], r["openblas/w1"]), ratio(r["avx2/w2"], r["avx2/w1"]), ratio(r["avx2/w2"], r["openblas/w1"]))
		fmt.Println("| " + strings.Join(cells, " | ") + " |")
	}
	fmt.Println()
}

// stepTable: rft's training step beside PyTorch's at the same thread count.
func stepTable(results map[string]result, torch []map[string]any) {
	re := regexp.MustCompile(`^BenchmarkModelStep/demo/workers=(\d+)$`)
	rft := map[int]result{}
	for name, r := range results {
		if m := re.FindStringSubmatch(name); m != nil {
			w, _ := strconv.Atoi(m[1])
			rft[w] = r
			delete(results, name)
		}
	}
	if len(rft) == 0 {
		return
	}
	tt := map[int]float64{}
	for _, rec := range torch {
		tt[int(rec["threads"].(float64))] = rec["tokens_per_s"].(float64)
	}
	fmt.Println("| threads | rft tokens/s | rft GFLOP/s | rft % in matmul | PyTorch tokens/s | rft / PyTorch |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, w := range sortedInts(rft) {
		r := rft[w]
		fmt.Printf("| %d | %s | %s | %s | %s | %s |\n", w, num(r["tokens/s"]), num(r["GFLOP/s"]), num(r["%matmul"]), num(tt[w]), ratio(r["tokens/s"], tt[w]))
	}
	fmt.Println()
}

func otherTable(results map[string]result) {
	if len(results) == 0 {
		return
	}
	fmt.Println("| benchmark | metrics |")
	fmt.Println("|---|---|")
	for _, name := range sortedKeys(results) {
		var parts []string
		for _, unit := range sortedKeys(results[name]) {
			parts = append(parts, num(results[name][unit])+" "+unit)
		}
		fmt.Printf("| %s | %s |\n", strings.TrimPrefix(name, "Benchmark"), strings.Join(parts, ", "))
	}
	fmt.Println()
}

func num(v float64) string {
	switch {
	case v == 0:
		return "–"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedInts[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}
