package prompts

import (
	"strings"
	"testing"
)

func TestTemplates(t *testing.T) {
	for _, name := range Names() {
		tpl, err := Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(tpl.Version) != 12 {
			t.Errorf("%s: version %q", name, tpl.Version)
		}
	}
	sys, _ := Get("extract_system")
	out, err := sys.Render(map[string]any{"Tool": "record_invoice", "Schema": "invoice", "Description": "a supplier invoice", "Lists": "line_items"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "record_invoice") || !strings.Contains(out, "line_items") {
		t.Errorf("rendered:\n%s", out)
	}
	// A missing key is an error, not "<no value>" in a prompt.
	if _, err := sys.Render(map[string]any{"Tool": "x"}); err == nil {
		t.Error("missing key rendered silently")
	}
	user, _ := Get("extract_user")
	out, _ = user.Render(map[string]any{"Pages": 2, "Omitted": "", "Parts": []map[string]any{{"Page": 1, "Text": "a"}, {"Page": 2, "Text": "b"}}})
	if !strings.Contains(out, "=== Page 2 ===\nb") {
		t.Errorf("rendered:\n%s", out)
	}
	reask, _ := Get("reask")
	out, _ = reask.Render(map[string]any{"Tool": "record_invoice", "NoCall": false, "Errors": []string{"/total_amount: missing property"}})
	if !strings.Contains(out, "- /total_amount: missing property") {
		t.Errorf("rendered:\n%s", out)
	}
}

func TestVersion(t *testing.T) {
	a, _ := Get("extract_system")
	b, _ := Get("extract_user")
	if Version(a, b) != Version(b, a) || Version(a, b) == Version(a) {
		t.Error("combined version must not depend on order and must depend on the set")
	}
	if _, err := Get("nope"); err == nil {
		t.Error("unknown template")
	}
}
