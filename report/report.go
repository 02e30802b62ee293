// Package report turns a run directory into PNG plots and a single-file HTML
// report, from the files alone (metrics.jsonl, and eval.jsonl, summary.json
// and config.yaml when present), so it works on a run that is still going, was
// killed, or was copied from another machine.
package report

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"

	"github.com/rft-dev/rft/internal/atomicfile"
)

// Result says what Generate wrote.
type Result struct {
	Report   string   `json:"report"` // path of report.html
	Plots    []string `json:"plots"`  // paths of the PNG files
	Steps    int      `json:"steps"`  // steps read from metrics.jsonl
	Warnings []string `json:"warnings,omitempty"`
}

// Write writes RUN_DIR/plots/*.png and RUN_DIR/report.html.
func Write(runDir string) error {
	_, err := Generate(runDir)
	return err
}

// Generate is Write that also says what it wrote. Each file is replaced
// atomically, so a reader never sees a torn image or page.
func Generate(runDir string) (*Result, error) {
	run, err := Load(runDir)
	if err != nil {
		return nil, err
	}
	plots, err := Plots(run)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	res := &Result{Report: filepath.Join(runDir, "report.html"), Steps: len(run.Metrics), Warnings: run.Warnings}
	if len(plots) > 0 {
		dir := filepath.Join(runDir, "plots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		for _, p := range plots {
			path := filepath.Join(dir, p.Name+".png")
			if err := atomicfile.WriteBytes(path, p.PNG, 0o644); err != nil {
				return nil, fmt.Errorf("report: %w", err)
			}
			res.Plots = append(res.Plots, path)
		}
	}
	err = atomicfile.Write(res.Report, 0o644, func(w io.Writer) error { return RenderHTML(w, run, plots) })
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return res, nil
}

type htmlPlot struct {
	Name, Title, Caption string
	Src                  template.URL
}

type htmlData struct {
	Title     string
	Dir       string
	Steps     int
	LastStep  string
	Warnings  []string
	Metrics   []metricRow
	Summary   *Table
	Plots     []htmlPlot
	Eval      *Table
	Config    string
	HasConfig bool
}

// RenderHTML writes the report page. Plots are embedded as data URIs, so the
// one file can be mailed or attached; every value from the run is escaped by
// html/template.
func RenderHTML(w io.Writer, run *Run, plots []Plot) error {
	abs, err := filepath.Abs(run.Dir)
	if err != nil {
		abs = run.Dir
	}
	d := htmlData{
		Title:     filepath.Base(abs),
		Dir:       abs,
		Steps:     len(run.Metrics),
		LastStep:  "-",
		Warnings:  run.Warnings,
		Metrics:   metricRows(run.Metrics),
		Summary:   summaryTable(run.Summary),
		Eval:      evalTable(run.Eval),
		Config:    run.Config,
		HasConfig: run.Config != "",
	}
	if n := len(run.Metrics); n > 0 {
		d.LastStep = FormatValue(run.Metrics[n-1].Num["step"])
	}
	for _, p := range plots {
		// The data URI is built here from PNG bytes we encoded, so marking it
		// safe cannot let run content into the attribute.
		src := template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(p.PNG))
		d.Plots = append(d.Plots, htmlPlot{p.Name, p.Title, p.Caption, src})
	}
	return page.Execute(w, d)
}

var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rft report: {{.Title}}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; max-width: 1100px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.meta { color: #666; }
table { border-collapse: collapse; margin: 0.5em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f4f4f4; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.92em; }
pre { background: #f7f7f7; border: 1px solid #e4e4e4; padding: 0.8em; overflow-x: auto; font-size: 0.9em; }
.warn { background: #fff6e0; border: 1px solid #f0d890; padding: 0.5em 1em; }
nav a { margin-right: 1em; }
</style>
</head>
<body>
<h1>rft report: {{.Title}}</h1>
<p class="meta">Run directory <code>{{.Dir}}</code> &middot; {{.Steps}} steps logged &middot; last step {{.LastStep}}</p>
<nav><a href="#summary">Summary</a>{{if .Plots}}<a href="#plots">Plots</a>{{end}}{{if .Eval}}<a href="#checkpoints">Checkpoints</a>{{end}}<a href="#config">Config</a></nav>
{{if .Warnings}}<div class="warn"><strong>Warnings</strong><ul>{{range .Warnings}}<li>{{.}}</li>{{end}}</ul></div>{{end}}

<h2 id="summary">Summary</h2>
{{if .Summary}}<h3>summary.json</h3>
<table>
<tr>{{range .Summary.Columns}}<th>{{.}}</th>{{end}}</tr>
{{range .Summary.Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}
{{if .Metrics}}<h3>Metrics</h3>
<table>
<tr><th>metric</th><th>n</th><th>last</th><th>best</th><th>best at step</th><th>min</th><th>max</th></tr>
{{range .Metrics}}<tr><td>{{.Key}}</td><td>{{.N}}</td><td>{{.Last}}</td><td>{{.Best}}</td><td>{{.BestStep}}</td><td>{{.Min}}</td><td>{{.Max}}</td></tr>
{{end}}</table>
{{else}}<p>No step has been logged yet.</p>
{{end}}
{{if .Plots}}<h2 id="plots">Plots</h2>
{{range .Plots}}<figure id="plot-{{.Name}}"><img src="{{.Src}}" alt="{{.Title}}"><figcaption>{{.Caption}} <code>plots/{{.Name}}.png</code></figcaption></figure>
{{end}}{{end}}
{{with .Eval}}<h2 id="checkpoints">Evaluated checkpoints</h2>
<table>
<tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}
<h2 id="config">Config</h2>
{{if .HasConfig}}<pre>{{.Config}}</pre>{{else}}<p>No config.yaml in the run directory.</p>{{end}}
</body>
</html>
`))
