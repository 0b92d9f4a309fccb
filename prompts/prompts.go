// Package prompts holds the prompt templates sent to language models, as
// files embedded in the binary. Each template has a version: a hash of its
// content, recorded on every extraction, so a changed prompt is visible
// in the data and invalidates cached results. It renders text and owns no
// model or schema logic.
package prompts

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"text/template"
)

//go:embed *.tmpl
var files embed.FS

// Template is a parsed prompt template.
type Template struct {
	Name string
	// Version is the first 12 hex digits of the SHA-256 of the template text.
	Version string
	tmpl    *template.Template
}

// Get returns the template called name (the file name without .tmpl).
func Get(name string) (Template, error) {
	text, err := files.ReadFile(name + ".tmpl")
	if err != nil {
		return Template{}, fmt.Errorf("prompts: no template %q", name)
	}
	t, err := template.New(name).Option("missingkey=error").Parse(string(text))
	if err != nil {
		return Template{}, fmt.Errorf("prompts: %s: %w", name, err)
	}
	return Template{Name: name, Version: hash(text), tmpl: t}, nil
}

// Render executes the template with data.
func (t Template) Render(data any) (string, error) {
	var b bytes.Buffer
	if err := t.tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("prompts: rendering %s: %w", t.Name, err)
	}
	return b.String(), nil
}

// Version combines the versions of several templates into one, for
// records that used them together.
func Version(ts ...Template) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.Name + "@" + t.Version
	}
	sort.Strings(parts)
	return hash([]byte(strings.Join(parts, ",")))
}

// Names lists the embedded templates.
func Names() []string {
	entries, _ := files.ReadDir(".") // embedded: cannot fail
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".tmpl"))
	}
	return out
}

func hash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:12]
}
