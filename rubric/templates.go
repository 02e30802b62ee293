package rubric

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/template"
)

//go:embed templates/*.tmpl
var embeddedTemplates embed.FS

// Template names: one file each, NAME.tmpl.
const (
	TmplProposeInitial  = "propose_initial"
	TmplProposeRefine   = "propose_refine"
	TmplVerifyBatched   = "verify_batched"   // batched and chunk:K
	TmplVerifyCriterion = "verify_criterion" // per-criterion
	TmplVerifyImplicit  = "verify_implicit"  // one holistic score
)

var templateNames = []string{TmplProposeInitial, TmplProposeRefine, TmplVerifyBatched, TmplVerifyCriterion, TmplVerifyImplicit}

// Templates are the prompt templates the LLM proposer and verifier render
// (text/template). The defaults are embedded; a directory can replace any of
// them by holding a file of the same name.
type Templates struct {
	text map[string]string
	tmpl map[string]*template.Template
}

// DefaultTemplates returns the embedded templates.
func DefaultTemplates() *Templates {
	t, err := LoadTemplates("")
	if err != nil {
		panic(err) // the embedded files are tested
	}
	return t
}

// defaultTemplates parses the embedded templates once.
var defaultTemplates = sync.OnceValue(DefaultTemplates)

// LoadTemplates reads the embedded templates, replacing each with
// dir/NAME.tmpl where that file exists. dir "" means the defaults only.
// A file in dir whose name is not a known template is an error (a typo would
// otherwise silently keep the default).
func LoadTemplates(dir string) (*Templates, error) {
	t := &Templates{text: map[string]string{}, tmpl: map[string]*template.Template{}}
	for _, name := range templateNames {
		b, err := embeddedTemplates.ReadFile("templates/" + name + ".tmpl")
		if err != nil {
			return nil, err
		}
		t.text[name] = string(b)
	}
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		known := map[string]bool{}
		for _, n := range templateNames {
			known[n] = true
		}
		for _, e := range entries {
			name, ok := strings.CutSuffix(e.Name(), ".tmpl")
			if e.IsDir() || !ok {
				continue
			}
			if !known[name] {
				return nil, fmt.Errorf("templates: %s: unknown template (known: %s)", filepath.Join(dir, e.Name()), strings.Join(templateNames, ", "))
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, fmt.Errorf("templates: %w", err)
			}
			t.text[name] = string(b)
		}
	}
	for name, text := range t.text {
		tp, err := template.New(name).Option("missingkey=error").Parse(text)
		if err != nil {
			return nil, fmt.Errorf("templates: %s: %w", name, err)
		}
		t.tmpl[name] = tp
	}
	return t, nil
}

// Render executes one template.
func (t *Templates) Render(name string, data any) (string, error) {
	tp := t.tmpl[name]
	if tp == nil {
		return "", fmt.Errorf("templates: no template %q", name)
	}
	var b strings.Builder
	if err := tp.Execute(&b, data); err != nil {
		return "", fmt.Errorf("templates: %s: %w", name, err)
	}
	return b.String(), nil
}

// Hash identifies the text of the named templates, for cache keys: changing a
// template must miss the verification cache.
func (t *Templates) Hash(names ...string) string {
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00%s", n, len(t.text[n]), t.text[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Text returns a template's source.
func (t *Templates) Text(name string) string { return t.text[name] }
