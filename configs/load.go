package configs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/rft-dev/rft/internal/atomicfile"
	"gopkg.in/yaml.v3"
)

// Load builds a Job from the defaults, then the YAML file at path (skipped
// when path is empty), then each --set override ("section.key=value", applied
// in order), and validates the result. Every error names where the bad value
// came from: the file and line, or the --set flag.
func Load(path string, sets []string) (*Job, error) {
	return LoadPreset(nil, path, sets)
}

// LoadPreset is Load with a command's own defaults ("key=value" overrides
// applied to the built-in defaults before the file), as `rft demo` has.
func LoadPreset(preset []string, path string, sets []string) (*Job, error) {
	return LoadChecked(preset, path, sets, nil)
}

// LoadChecked is LoadPreset with a command's own checks after validation
// (e.g. `rft replicate`'s arm names, which its package owns); their errors
// start with the key at fault, like Validate's, so they name the file and
// line (or the --set flag) the same way.
func LoadChecked(preset []string, path string, sets []string, check func(*Job) error) (*Job, error) {
	job := Defaults()
	origin := map[string]string{} // key → "FILE:LINE" or "--set k=v", for validation messages
	for _, s := range preset {
		if err := applySet(&job, s); err != nil {
			return nil, fmt.Errorf("preset: %w", err)
		}
	}
	if path != "" {
		if err := decodeFile(path, &job, origin); err != nil {
			return nil, err
		}
	}
	for _, s := range sets {
		if err := applySet(&job, s); err != nil {
			return nil, err
		}
		origin[strings.TrimSpace(strings.SplitN(s, "=", 2)[0])] = "--set " + s
	}
	err := job.Validate()
	if check != nil && err == nil {
		err = check(&job)
	}
	if err != nil {
		return nil, locate(err, origin, path)
	}
	return &job, nil
}

func decodeFile(path string, job *Job, origin map[string]string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) == 0 { // an empty file means all defaults
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: a job file is a mapping of sections (seed, train, grpo, ...)", path, root.Line)
	}
	if err := checkKeys(path, root, reflect.TypeOf(*job), "", origin); err != nil {
		return err
	}
	if err := root.Decode(job); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s: %s", path, strings.Join(te.Errors, "; "))
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// checkKeys walks a mapping node against a struct type and rejects any key
// the struct does not declare. yaml.v3's KnownFields reports only the line;
// users need the full dotted key and the keys that would have been accepted.
func checkKeys(path string, n *yaml.Node, t reflect.Type, prefix string, origin map[string]string) error {
	fields := yamlFields(t)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := prefix + k.Value
		f, ok := fields[k.Value]
		if !ok {
			return fmt.Errorf("%s:%d: unknown key %q (known keys%s: %s)", path, k.Line, key, inSection(prefix), strings.Join(sortedKeys(fields), ", "))
		}
		origin[key] = fmt.Sprintf("%s:%d", path, k.Line)
		// Items of a list and keys of a map get their own lines, so a check
		// of one item (replicate.arms[2]) names where it is written.
		switch {
		case v.Kind == yaml.SequenceNode:
			for i, item := range v.Content {
				origin[fmt.Sprintf("%s[%d]", key, i)] = fmt.Sprintf("%s:%d", path, item.Line)
			}
		case v.Kind == yaml.MappingNode && f.Type.Kind() == reflect.Map:
			for i := 0; i+1 < len(v.Content); i += 2 {
				origin[key+"."+v.Content[i].Value] = fmt.Sprintf("%s:%d", path, v.Content[i].Line)
			}
		}
		if f.Type.Kind() == reflect.Struct {
			if v.Kind != yaml.MappingNode {
				return fmt.Errorf("%s:%d: %s must be a mapping of keys", path, v.Line, key)
			}
			if err := checkKeys(path, v, f.Type, key+".", origin); err != nil {
				return err
			}
		}
	}
	return nil
}

func inSection(prefix string) string {
	if prefix == "" {
		return ""
	}
	return " in " + strings.TrimSuffix(prefix, ".")
}

func yamlFields(t reflect.Type) map[string]reflect.StructField {
	m := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if name := strings.Split(f.Tag.Get("yaml"), ",")[0]; name != "" && name != "-" {
			m[name] = f
		}
	}
	return m
}

func sortedKeys(m map[string]reflect.StructField) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// applySet sets one dotted key from a "key=value" string. The value is read as
// YAML into the field's own type, so "--set train.lr=abc" fails like a file would.
func applySet(job *Job, s string) error {
	key, val, ok := strings.Cut(s, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return fmt.Errorf("--set %s: want section.key=value", s)
	}
	v := reflect.ValueOf(job).Elem()
	parts := strings.Split(key, ".")
	for i, p := range parts {
		fields := yamlFields(v.Type())
		f, ok := fields[p]
		if !ok {
			return fmt.Errorf("--set %s: unknown key %q (known keys%s: %s)", s, strings.Join(parts[:i+1], "."),
				inSection(strings.Join(parts[:i], ".")+"."), strings.Join(sortedKeys(fields), ", "))
		}
		v = v.FieldByIndex(f.Index)
		if i < len(parts)-1 && v.Kind() != reflect.Struct {
			return fmt.Errorf("--set %s: %s is not a section", s, strings.Join(parts[:i+1], "."))
		}
	}
	if v.Kind() == reflect.Struct {
		return fmt.Errorf("--set %s: %s is a section; set one of its keys", s, key)
	}
	ptr := reflect.New(v.Type())
	if err := yaml.Unmarshal([]byte(val), ptr.Interface()); err != nil {
		return fmt.Errorf("--set %s: %s", s, strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  line 1: "))
	}
	v.Set(ptr.Elem())
	return nil
}

// Apply sets "key=value" overrides on the job in order (as --set does) and
// validates the result.
func (j *Job) Apply(sets []string) error {
	for _, s := range sets {
		if err := applySet(j, s); err != nil {
			return err
		}
	}
	return j.Validate()
}

// locate prefixes each validation error with where its key was set.
func locate(err error, origin map[string]string, path string) error {
	var errs []error
	for _, e := range unjoin(err) {
		key, _, _ := strings.Cut(e.Error(), ":")
		where, ok := origin[key]
		switch {
		case ok:
			errs = append(errs, fmt.Errorf("%s: %w", where, e))
		case path != "":
			errs = append(errs, fmt.Errorf("%s: %w (default value)", path, e))
		default:
			errs = append(errs, fmt.Errorf("%w (default value)", e))
		}
	}
	return errors.Join(errs...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Marshal renders the resolved job as YAML, every key explicit, so a run
// directory's config.yaml reproduces the run without the original file.
func (j *Job) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(j); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

// WriteResolved writes dir/config.yaml atomically.
func (j *Job) WriteResolved(dir string) error {
	data, err := j.Marshal()
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, "config.yaml"), data, 0o644)
}
