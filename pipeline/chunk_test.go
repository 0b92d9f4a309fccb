package pipeline

import (
	"fmt"
	"strings"
	"testing"
)

func linesDoc(pages ...[]string) Document {
	d := Document{ID: "doc"}
	for i, ls := range pages {
		p := Page{Number: i + 1, Status: PageText}
		for _, l := range ls {
			p.Lines = append(p.Lines, Line{Text: l})
		}
		d.Pages = append(d.Pages, p)
	}
	return d
}

// words counts each whitespace-separated word as one token.
func words(s string) int { return len(strings.Fields(s)) }

func spans(cs []Chunk) string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("p%d:%d-%d", c.Page, c.FirstLine, c.LastLine))
	}
	return strings.Join(out, " ")
}

func TestChunks(t *testing.T) {
	five := []string{"a b", "c d", "e f", "g h", "i j"} // 3 tokens each with the break
	tests := []struct {
		name string
		doc  Document
		opts ChunkOptions
		want string
	}{
		{"fits in one", linesDoc(five), ChunkOptions{MaxTokens: 100, Overlap: 1}, "p1:0-4"},
		{"no overlap", linesDoc(five), ChunkOptions{MaxTokens: 6, Overlap: -1}, "p1:0-1 p1:2-3 p1:4-4"},
		{"overlap of one line", linesDoc(five), ChunkOptions{MaxTokens: 9, Overlap: 3}, "p1:0-2 p1:2-4"},
		{"overlap never stalls", linesDoc(five), ChunkOptions{MaxTokens: 6, Overlap: 5}, "p1:0-1 p1:1-2 p1:2-3 p1:3-4"},
		{"pages are never crossed", linesDoc(five[:2], five[2:]), ChunkOptions{MaxTokens: 100}, "p1:0-1 p2:0-2"},
		{"a long line is never split", linesDoc([]string{"a", strings.Repeat("w ", 50), "b"}), ChunkOptions{MaxTokens: 10, Overlap: -1}, "p1:0-0 p1:1-1 p1:2-2"},
		{"empty pages have no chunks", linesDoc(nil, five[:1]), ChunkOptions{}, "p2:0-0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Count == nil {
				tt.opts.Count = words
			}
			got := Chunks(tt.doc, tt.opts)
			if spans(got) != tt.want {
				t.Errorf("chunks %s, want %s", spans(got), tt.want)
			}
			for _, c := range got {
				lines := tt.doc.Pages[c.Page-1].Lines[c.FirstLine : c.LastLine+1]
				var texts []string
				for _, l := range lines {
					texts = append(texts, l.Text)
				}
				if c.Text != strings.Join(texts, "\n") || c.DocumentID != "doc" || c.ID != ChunkID("doc", c.Page, c.FirstLine, c.LastLine) {
					t.Errorf("chunk %+v", c)
				}
			}
		})
	}
}

func TestChunkIDsAreStable(t *testing.T) {
	d := linesDoc([]string{"one two", "three four"})
	a, b := Chunks(d, ChunkOptions{}), Chunks(d, ChunkOptions{})
	if len(a) != 1 || a[0].ID != b[0].ID || len(a[0].ID) != 32 {
		t.Errorf("ids %v %v", a, b)
	}
	if ChunkID("doc", 1, 0, 1) == ChunkID("doc", 1, 0, 2) || ChunkID("doc", 1, 0, 1) == ChunkID("other", 1, 0, 1) {
		t.Error("ids must differ by document and span")
	}
	if a[0].Tokens <= 0 {
		t.Error("default counter counts nothing")
	}
	if (ChunkOptions{}).Key() == (ChunkOptions{MaxTokens: 200}).Key() {
		t.Error("options key must change with the options")
	}
}

// OCR pages chunk like text pages: the chunker reads Lines, whatever made them.
func TestChunksOCRPages(t *testing.T) {
	text := linesDoc([]string{"a b", "c d"})
	ocr := linesDoc([]string{"a b", "c d"})
	ocr.Pages[0].Status = PageOCR
	ocr.Pages[0].OCR = &OCRInfo{Engine: "tesseract", DPI: 300}
	for i := range ocr.Pages[0].Lines {
		ocr.Pages[0].Lines[i].Words = []Word{{Text: "x", Confidence: 0.5}}
	}
	opts := ChunkOptions{MaxTokens: 3, Overlap: -1, Count: words}
	a, b := Chunks(text, opts), Chunks(ocr, opts)
	if len(a) != 2 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("text %v\nocr  %v", a, b)
	}
}
