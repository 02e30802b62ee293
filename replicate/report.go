package replicate

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/rft-dev/rft/internal/atomicfile"
	runreport "github.com/rft-dev/rft/report"
)

// Report is everything the report says, computed from the run directory
// alone; results.json holds it (plots aside).
type Report struct {
	Dir       string     `json:"dir"`
	Hash      string     `json:"frozen_sha256"`
	Arms      []string   `json:"arms"`
	Seeds     []uint64   `json:"seeds"`
	Missing   []string   `json:"missing,omitempty"` // (arm, seed) runs not finished
	Verdicts  []Verdict  `json:"verdicts"`
	Tables    []Table    `json:"tables"`
	Orderings []Ordering `json:"orderings"`
	Reading   []string   `json:"reading"` // the plain-words summary
	EvalN     int        `json:"eval_n"`  // eval prompts per seed
	PriorMDE  float64    `json:"prior_mde"`
	plots     []runreport.Plot
}

// Files a report writes into the run directory.
const (
	ReportMD    = "report.md"
	ReportHTML  = "report.html"
	ResultsFile = "results.json"
)

// WriteReport reads a replicate run directory and writes report.md,
// report.html, results.json and plots/*.png into it. It needs nothing but
// the directory: the claims and the arms come from the frozen manifest.
func WriteReport(runDir string) (*Report, error) {
	m, res, missing, err := Load(runDir)
	if err != nil {
		return nil, err
	}
	_, hash, err := readFrozen(runDir)
	if err != nil {
		return nil, err
	}
	rep := &Report{Dir: runDir, Hash: hash, Arms: m.Arms, Seeds: m.Seeds, Missing: missing}
	order := catalogueOrder(m.Arms)
	rep.Verdicts = Decide(m.Claims, res)
	rep.Orderings = Orderings(order, res)
	rep.Tables = []Table{ClaimTable(m.Claims, rep.Verdicts), Table1(order, res), Table2(order, res), ArtifactTable(order, res),
		OrderingTable(rep.Orderings), costTable(runDir, order, m.Seeds)}
	for _, r := range res {
		for _, s := range r.Seeds {
			if f := s.final(); f != nil {
				rep.EvalN = max(rep.EvalN, len(f.Verdicts))
			}
		}
	}
	rep.PriorMDE = PriorMDE(rep.EvalN * len(m.Seeds))
	rep.Reading = reading(rep, m.Claims)
	if rep.plots, err = Figures(order, res); err != nil {
		return nil, err
	}
	if err := rep.write(runDir); err != nil {
		return nil, err
	}
	return rep, nil
}

// catalogueOrder puts the run's arms in the catalogue's order.
func catalogueOrder(arms []string) []string {
	var out []string
	for _, a := range Catalogue {
		for _, n := range arms {
			if n == a.Name {
				out = append(out, n)
			}
		}
	}
	return out
}

func costTable(runDir string, order []string, seeds []uint64) Table {
	t := Table{Title: "Cost", Note: "wall-clock seconds per arm run (done.json)", Columns: []string{"arm"}}
	for _, s := range seeds {
		t.Columns = append(t.Columns, fmt.Sprintf("seed %d", s))
	}
	for _, name := range order {
		row := []string{name}
		for _, s := range seeds {
			cell := "–"
			if sec, ok := Seconds(runDir, name, s); ok {
				cell = fmt.Sprintf("%.0f", sec)
			}
			row = append(row, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// reading says in words where the run agrees with the paper and where not.
func reading(rep *Report, claims []Claim) []string {
	var out []string
	count := map[string]int{}
	for _, v := range rep.Verdicts {
		count[v.Outcome]++
	}
	out = append(out, fmt.Sprintf("Of %d declared claims: %d supported, %d contradicted, %d inconclusive, %d not run.",
		len(rep.Verdicts), count[Supported], count[Contradicted], count[Inconclusive], count[NotRun]))
	for i, v := range rep.Verdicts {
		out = append(out, fmt.Sprintf("%s: %s. %s.", claims[i].Statement, v.Outcome, v.Detail))
	}
	agree, sep := 0, 0
	for _, o := range rep.Orderings {
		if o.Agrees {
			agree++
			if o.Separable {
				sep++
			}
		}
	}
	if n := len(rep.Orderings); n > 0 {
		out = append(out, fmt.Sprintf("Orderings: %d of %d pairs of arms the paper ranks come out in the paper's order here; %d of those by an interval that excludes zero.", agree, n, sep))
	}
	out = append(out, fmt.Sprintf("Power: with %d eval prompts × %d seeds, a paired win-rate difference needs to be about %.1f points to be detected with 80%% power at p = 0.05 (independent arms at 50%%; the observed MDE of each claim is in its row). The paper's gaps between neighbouring rubric arms are 1–4 points.",
		rep.EvalN, len(rep.Seeds), 100*rep.PriorMDE))
	if len(rep.Missing) > 0 {
		out = append(out, fmt.Sprintf("Not finished, left out: %s.", strings.Join(rep.Missing, ", ")))
	}
	return out
}

func (rep *Report) write(dir string) error {
	if len(rep.plots) > 0 {
		if err := os.MkdirAll(filepath.Join(dir, "plots"), 0o755); err != nil {
			return err
		}
	}
	for _, p := range rep.plots {
		if err := atomicfile.WriteBytes(filepath.Join(dir, "plots", p.Name+".png"), p.PNG, 0o644); err != nil {
			return err
		}
	}
	if err := writeJSON(filepath.Join(dir, ResultsFile), rep); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, ReportMD), 0o644, rep.markdown); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, ReportHTML), 0o644, rep.html)
}

func (rep *Report) markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# rft replicate: \"Chasing the Tail\" on tailworld\n\n")
	fmt.Fprintf(&b, "Run directory `%s`; frozen manifest sha256 `%s`; arms %s; seeds %v.\n\n", rep.Dir, rep.Hash, strings.Join(rep.Arms, ", "), rep.Seeds)
	b.WriteString("## Reading\n\n")
	for _, r := range rep.Reading {
		fmt.Fprintf(&b, "- %s\n", r)
	}
	for _, t := range rep.Tables {
		fmt.Fprintf(&b, "\n## %s\n\n", t.Title)
		if t.Note != "" {
			fmt.Fprintf(&b, "%s\n\n", t.Note)
		}
		if len(t.Rows) == 0 {
			b.WriteString("(no rows: the arms it needs were not run)\n")
			continue
		}
		fmt.Fprintf(&b, "| %s |\n|%s\n", strings.Join(t.Columns, " | "), strings.Repeat(" --- |", len(t.Columns)))
		for _, row := range t.Rows {
			cells := make([]string, len(row))
			for i, c := range row {
				cells[i] = strings.ReplaceAll(c, "|", "\\|")
			}
			fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
		}
	}
	if len(rep.plots) > 0 {
		b.WriteString("\n## Figures\n\n")
		for _, p := range rep.plots {
			fmt.Fprintf(&b, "![%s](plots/%s.png)\n\n%s\n\n", p.Title, p.Name, p.Caption)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

type htmlPlot struct {
	Title, Caption string
	Src            template.URL
}

func (rep *Report) html(w io.Writer) error {
	var plots []htmlPlot
	for _, p := range rep.plots {
		// The data URI is built from PNG bytes this package encoded.
		plots = append(plots, htmlPlot{p.Title, p.Caption, template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(p.PNG))})
	}
	return page.Execute(w, struct {
		*Report
		Plots []htmlPlot
	}{rep, plots})
}

var page = template.Must(template.New("replicate").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rft replicate</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; color: #222; max-width: 1200px; margin: 2em auto; padding: 0 1em; }
table { border-collapse: collapse; margin: 0.5em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
.note { color: #555; }
figure img { max-width: 100%; border: 1px solid #eee; }
</style>
</head>
<body>
<h1>rft replicate: "Chasing the Tail" on tailworld</h1>
<p>Run directory <code>{{.Dir}}</code>; frozen manifest sha256 <code>{{.Hash}}</code>; seeds {{.Seeds}}.</p>
<h2>Reading</h2>
<ul>{{range .Reading}}<li>{{.}}</li>{{end}}</ul>
{{range .Tables}}<h2>{{.Title}}</h2>
{{if .Note}}<p class="note">{{.Note}}</p>{{end}}
{{if .Rows}}<table>
<tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>{{else}}<p>(no rows: the arms it needs were not run)</p>{{end}}
{{end}}
{{if .Plots}}<h2>Figures</h2>
{{range .Plots}}<figure><img src="{{.Src}}" alt="{{.Title}}"><figcaption>{{.Caption}}</figcaption></figure>
{{end}}{{end}}
</body>
</html>
`))
