package report

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// grpoRun writes a synthetic GRPO run directory: every metric the trainer
// logs, an unknown key, eval.jsonl, summary.json and a config with a value
// that must be escaped.
func grpoRun(t *testing.T) string {
	dir := t.TempDir()
	var m strings.Builder
	for s := 1; s <= 40; s++ {
		f := float64(s)
		proxy := 0.2 + 0.6*(1-math.Exp(-f/15))
		gold := 0.2 + 0.3*math.Sin(f/25)
		fmt.Fprintf(&m, `{"step":%d,"reward_mean":%.4f,"reward_std":0.08,"kl":%.5f,"loss":%.4f,"lr":%g,"grad_norm":%.3f,`+
			`"completion_len_mean":%.1f,"seconds":1.5,"rollout_seconds":1.0,"reward_seconds":0.3,"update_seconds":0.2,`+
			`"gold_reward_mean":%.4f,"clip_frac_low":0.01,"clip_frac_high":0.02,"entropy":%.3f,"phase":"rl","hist":[1,2],"odd_new_key":7}`+"\n",
			s, proxy, 0.002*f, 0.5/f, 1e-5, 1+1/f, 80+f, gold, 2-f/40)
	}
	writeFile(t, filepath.Join(dir, "metrics.jsonl"), m.String())
	writeFile(t, filepath.Join(dir, "eval.jsonl"),
		`{"step":0,"kl":0,"win_rate":0.10,"ci_low":0.06,"ci_high":0.16,"wins":9,"ties":2,"losses":89,"n":100,"checkpoint":"base"}
{"step":20,"win_rate":0.35,"ci_low":0.26,"ci_high":0.45,"wins":33,"ties":4,"losses":63,"n":100}
{"step":40,"kl":0.08,"win_rate":0.28,"ci_low":0.20,"ci_high":0.38,"wins":26,"ties":4,"losses":70,"n":100}
`)
	writeFile(t, filepath.Join(dir, "summary.json"),
		`{"base":{"win_rate":0.1,"wins":9,"ties":2,"losses":89,"n":100,"ci_low":0.06,"ci_high":0.16},
		  "final":{"win_rate":0.28,"wins":26,"ties":4,"losses":70,"n":100,"ci_low":0.2,"ci_high":0.38}}`)
	writeFile(t, filepath.Join(dir, "config.yaml"), "seed: 1\nrun_name: \"<script>alert('x')</script>\"\ntrain:\n  steps: 40\n")
	return dir
}

func TestReportGRPORun(t *testing.T) {
	dir := grpoRun(t)
	res, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 40 || len(res.Warnings) != 0 {
		t.Fatalf("steps %d, warnings %q", res.Steps, res.Warnings)
	}
	var names []string
	for _, p := range res.Plots {
		names = append(names, strings.TrimSuffix(filepath.Base(p), ".png"))
	}
	want := []string{"loss", "reward", "kl", "gold_vs_proxy", "win_rate", "win_rate_kl", "lr", "grad_norm",
		"completion_len", "clip", "entropy", "time"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("plots %q, want %q", names, want)
	}
	doc, err := os.ReadFile(res.Report)
	if err != nil {
		t.Fatal(err)
	}
	page := string(doc)

	// Every plot is embedded, byte for byte, and decodes as a PNG.
	// html/template writes '+' as "&#43;" inside attributes.
	srcs := regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(srcs) != len(res.Plots) {
		t.Fatalf("%d embedded images, %d plots", len(srcs), len(res.Plots))
	}
	for i, p := range res.Plots {
		onDisk, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		embedded, err := base64.StdEncoding.DecodeString(html.UnescapeString(srcs[i][1]))
		if err != nil || !bytes.Equal(embedded, onDisk) {
			t.Fatalf("%s: embedded image differs from the file (%v)", p, err)
		}
		img, err := png.Decode(bytes.NewReader(onDisk))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if b := img.Bounds(); b.Dx() != 800 || b.Dy() != 450 {
			t.Fatalf("%s: %v", p, b)
		}
	}

	// The config is shown, escaped.
	if strings.Contains(page, "<script>") {
		t.Fatal("report.html contains an unescaped <script> from config.yaml")
	}
	if !strings.Contains(page, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") {
		t.Fatal("report.html lacks the escaped config value")
	}
	for _, want := range []string{
		"steps: 40",
		"<td>reward_mean</td><td>40</td><td>0.7583</td><td>0.7583</td><td>40</td>", // last, best, best at step
		"<td>eval_loss</td>", // absent: must not appear
		"<th>checkpoint</th>", "<td>base</td>", "<th>ci_high</th>",
		"<td>final</td><td>0.28</td><td>0.2</td><td>0.38</td><td>26</td>", // summary.json: a row per model
		"odd_new_key",
	} {
		if got := strings.Contains(page, want); got != (want != "<td>eval_loss</td>") {
			t.Errorf("report.html: contains %q = %v", want, got)
		}
	}

	// A second report of the same run is byte-identical.
	again := filepath.Join(t.TempDir(), "copy")
	copyDir(t, dir, again)
	res2, err := Generate(again)
	if err != nil {
		t.Fatal(err)
	}
	html2, _ := os.ReadFile(res2.Report)
	html2 = bytes.ReplaceAll(html2, []byte(again), []byte(dir))
	html2 = bytes.ReplaceAll(html2, []byte("copy</"), []byte(filepath.Base(dir)+"</"))
	if !bytes.Equal(doc, html2) {
		t.Fatal("two reports of the same run differ")
	}
}

func copyDir(t *testing.T, from, to string) {
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"metrics.jsonl", "eval.jsonl", "summary.json", "config.yaml"} {
		data, err := os.ReadFile(filepath.Join(from, f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(to, f), string(data))
	}
}

// TestReportPretrainRun: a pretraining log (eval_loss every few steps, no
// reward) gets loss, lr, grad norm, throughput and time plots, and nothing
// else; missing optional files are not errors.
func TestReportPretrainRun(t *testing.T) {
	dir := t.TempDir()
	var m strings.Builder
	for s := 1; s <= 30; s++ {
		evalLoss := ""
		if s%10 == 0 {
			evalLoss = fmt.Sprintf(`,"eval_loss":%.3f`, 3.5-float64(s)/20)
		}
		fmt.Fprintf(&m, `{"step":%d,"loss":%.3f%s,"lr":0.0003,"grad_norm":1.2,"tokens":4096,"tokens_per_second":%d,"seconds":0.4}`+"\n",
			s, 4-float64(s)/15, evalLoss, 9000+s)
	}
	writeFile(t, filepath.Join(dir, "metrics.jsonl"), m.String())
	res, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range res.Plots {
		names = append(names, filepath.Base(p))
	}
	sort.Strings(names)
	if got := strings.Join(names, " "); got != "grad_norm.png loss.png lr.png throughput.png time.png" {
		t.Fatalf("plots: %s", got)
	}
	html, _ := os.ReadFile(res.Report)
	if !strings.Contains(string(html), "No config.yaml") || !strings.Contains(string(html), "<td>eval_loss</td><td>3</td>") {
		t.Fatal("report.html lacks the missing-config note or the sparse eval_loss row")
	}
}

// TestTornAndResumedLog: a torn last line (a killed run) and a malformed
// line in the middle are skipped with warnings; a step logged twice (a
// resume) keeps its later line.
func TestTornAndResumedLog(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "metrics.jsonl"), `{"step":1,"loss":3}
{"step":2,"loss":2.5}
{"step":3,"lo
{"step":3,"loss":2.25}
{"step":2,"loss":2.4}

{"step":4,"loss":2,"lr":1e-4}
{"step":5,"loss":1.`)
	run, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range run.Metrics {
		got = append(got, fmt.Sprintf("%g:%g", r.Num["step"], r.Num["loss"]))
	}
	if strings.Join(got, " ") != "1:3 2:2.4 3:2.25 4:2" {
		t.Fatalf("records %q", got)
	}
	if len(run.Warnings) != 2 || !strings.Contains(run.Warnings[0], "line 3") ||
		!strings.Contains(run.Warnings[1], "line 8: incomplete last line") {
		t.Fatalf("warnings %q", run.Warnings)
	}
	if err := Write(dir); err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	if !strings.Contains(string(html), "incomplete last line") {
		t.Fatal("report.html does not show the warning")
	}
}

func TestNotARunDir(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	empty := t.TempDir()
	file := filepath.Join(empty, "file")
	writeFile(t, file, "x")
	for _, c := range []struct{ dir, want string }{
		{missing, missing + " does not exist"},
		{empty, filepath.Join(empty, "metrics.jsonl") + " does not exist"},
		{file, file + " is not a directory"},
	} {
		err := Write(c.dir)
		if !errors.Is(err, ErrNotRun) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Write(%s): %v, want ErrNotRun naming %q", c.dir, err, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(empty, "report.html")); err == nil {
		t.Error("a failed report left report.html behind")
	}
}

// TestEmptyLog: a run that has not logged a step yet still gets a page.
func TestEmptyLog(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "metrics.jsonl"), "")
	res, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Plots) != 0 {
		t.Fatalf("plots %v from an empty log", res.Plots)
	}
	html, _ := os.ReadFile(res.Report)
	if !strings.Contains(string(html), "No step has been logged yet") {
		t.Fatal("no note for an empty log")
	}
}

func TestFormatValue(t *testing.T) {
	cases := []struct {
		v    float64
		want string
	}{
		{0, "0"}, {40, "40"}, {0.76234, "0.7623"}, {1e-5, "1.000e-05"}, {3e7 + 0.5, "3.000e+07"},
		{math.NaN(), "NaN"}, {math.Inf(-1), "-Inf"}, {-2.5, "-2.5"},
	}
	for _, c := range cases {
		if got := FormatValue(c.v); got != c.want {
			t.Errorf("FormatValue(%g) = %q, want %q", c.v, got, c.want)
		}
	}
}
