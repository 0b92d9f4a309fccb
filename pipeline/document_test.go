package pipeline

import (
	"encoding/json"
	"strings"
	"testing"
)

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
		{"ocr pages have text", Document{Pages: []Page{
			{Number: 1, Status: PageOCR, Lines: []Line{line("scanned")}},
			{Number: 2, Status: PageText, Lines: []Line{line("typed")}},
		}}, "scanned\ftyped", 2},
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

// A born-digital document marshals exactly as before OCR fields existed:
// no "words", no "ocr" keys.
func TestDocumentJSONWithoutOCR(t *testing.T) {
	doc := Document{ID: "x", Parser: "pdf/1", Pages: []Page{{Number: 1, Width: 10, Height: 20, Status: PageText,
		Lines: []Line{{Text: "a", Box: Box{1, 2, 3, 4}}}}}}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"x","size":0,"parser":"pdf/1","pages":[{"number":1,"width":10,"height":20,"status":"text","lines":[{"text":"a","box":{"x0":1,"y0":2,"x1":3,"y1":4}}]}]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	ocr := Page{Number: 1, Status: PageOCR, OCR: &OCRInfo{Engine: "tesseract", Version: "5.3.0", Languages: "eng", DPI: 300, Confidence: 0.9},
		Lines: []Line{{Text: "a", Words: []Word{{Text: "a", Confidence: 0}}}}}
	b, err = json.Marshal(ocr)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"ocr":{"engine":"tesseract"`, `"words":[{"text":"a"`, `"confidence":0}`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("%s lacks %s", b, key)
		}
	}
}

func TestLineWordsAt(t *testing.T) {
	w := func(s string, c float64) Word { return Word{Text: s, Confidence: c} }
	l := Line{Text: "Total   1.234,50 EUR", Words: []Word{w("Total", 0.9), w("1.234,50", 0.4), w("EUR", 0.8)}}
	tests := []struct {
		quote string
		words string
		conf  float64
	}{
		{"Total", "Total", 0.9},
		{"1.234,50", "1.234,50", 0.4},
		{"234", "1.234,50", 0.4},
		{"50 EUR", "1.234,50 EUR", 0.4},
		{"EUR", "EUR", 0.8},
		{"   ", "", 0},
	}
	for _, tt := range tests {
		i := strings.Index(l.Text, tt.quote)
		var got []string
		for _, w := range l.WordsAt(i, i+len(tt.quote)) {
			got = append(got, w.Text)
		}
		if strings.Join(got, " ") != tt.words {
			t.Errorf("WordsAt(%q) = %v, want %s", tt.quote, got, tt.words)
		}
		c, ok := l.SpanConfidence(i, i+len(tt.quote))
		if ok != (tt.words != "") || c != tt.conf {
			t.Errorf("SpanConfidence(%q) = %v, %v; want %v", tt.quote, c, ok, tt.conf)
		}
	}
	if c, ok := l.Confidence(); !ok || c != 0.4 {
		t.Errorf("Confidence() = %v, %v", c, ok)
	}
	if _, ok := (Line{Text: "typed"}).Confidence(); ok {
		t.Error("a text-layer line has no confidence")
	}
	// A repeated word maps to its own occurrence.
	r := Line{Text: "10 x 10", Words: []Word{w("10", 0.5), w("x", 0.6), w("10", 0.7)}}
	if ws := r.WordsAt(5, 7); len(ws) != 1 || ws[0].Confidence != 0.7 {
		t.Errorf("second 10: %v", ws)
	}
}
