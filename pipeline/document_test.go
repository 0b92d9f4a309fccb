package pipeline

import "testing"

func TestDocumentText(t *testing.T) {
	line := func(s string) Line { return Line{Text: s} }
	tests := []struct {
		name      string
		doc       Document
		text      string
		textPages int
	}{
		{"empty", Document{}, "", 0},
		{"one page", Document{Pages: []Page{{Number: 1, Status: PageText, Lines: []Line{line("a b"), line("c")}}}}, "a b\nc", 1},
		{"pages split by form feed", Document{Pages: []Page{
			{Number: 1, Status: PageText, Lines: []Line{line("one")}},
			{Number: 2, Status: PageNoText},
			{Number: 3, Status: PageText, Lines: []Line{line("three")}},
		}}, "one\f\fthree", 2},
		{"error pages have no text", Document{Pages: []Page{{Number: 1, Status: PageError, Error: "boom"}}}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.doc.Text(); got != tt.text {
				t.Errorf("Text() = %q, want %q", got, tt.text)
			}
			if got := tt.doc.TextPages(); got != tt.textPages {
				t.Errorf("TextPages() = %d, want %d", got, tt.textPages)
			}
		})
	}
}
