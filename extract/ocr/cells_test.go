package ocr

import (
	"reflect"
	"testing"
)

// rowOf makes a visual row of one tesseract line from words given as
// text and left/right pixel edges, 30 px tall at top.
func rowOf(line int, top float64, words ...any) *row {
	s := &segment{top: top, bot: top + 30}
	for i := 0; i < len(words); i += 3 {
		u := &uword{text: words[i].(string), x0: float64(words[i+1].(int)), x1: float64(words[i+2].(int)),
			y0: top, y1: top + 30, dy0: top, dy1: top + 30, seg: [3]int{1, 1, line}}
		s.words = append(s.words, u)
	}
	s.x0, s.x1 = s.words[0].x0, s.words[len(s.words)-1].x1
	return &row{segs: []*segment{s}, top: top, bot: top + 30}
}

func TestMissingCells(t *testing.T) {
	rs := []*row{
		rowOf(1, 100, "Invoice", 100, 300),
		rowOf(2, 200, "Description", 100, 400, "Qty", 950, 1000, "Price", 1200, 1300, "Amount", 1500, 1620),
		rowOf(3, 250, "Screws", 100, 250, "8,71", 1230, 1300, "60,97", 1540, 1620), // qty not read
		rowOf(4, 300, "Project", 100, 250, "15,25", 910, 1000, "135,64", 1210, 1300, "2068,51", 1500, 1620),
		rowOf(5, 350, "Licence", 100, 250, "103,01", 1210, 1300, "1957,19", 1500, 1620), // qty not read
		rowOf(6, 400, "Setup", 100, 250, "1,25", 930, 1000, "90,98", 1230, 1300, "113,73", 1530, 1620),
		rowOf(7, 500, "Thank you for your business", 100, 700),
	}
	gaps := missingCells(rs, 20, 0, 1000, 2000, 3000)
	// The quantity column (its header and two numbers line up at 1000) has
	// no number on rows 3 and 5: those two cells, on their lines.
	want := []cellGap{
		{x0: 890, y0: 241, x1: 1020, y1: 289, seg: [3]int{1, 1, 3}, inLine: true},
		{x0: 890, y0: 341, x1: 1020, y1: 389, seg: [3]int{1, 1, 5}, inLine: true},
	}
	if !reflect.DeepEqual(gaps, want) {
		t.Fatalf("gaps %+v, want %+v", gaps, want)
	}
	// Without the header there is no quantity column (two numbers are not
	// a column), and nothing to re-read.
	if gaps := missingCells(append(rs[:1:1], rs[2:]...), 20, 0, 1000, 2000, 3000); len(gaps) != 0 {
		t.Fatalf("gaps %+v without a header, want none", gaps)
	}
}

func TestInsertWords(t *testing.T) {
	l1, l2 := [3]int{1, 1, 1}, [3]int{1, 1, 2}
	words := []tsvWord{{seg: l1, x0: 0, text: "Screws"}, {seg: l1, x0: 500, text: "8,71"}, {seg: l2, x0: 0, text: "Project"}}
	got := insertWords(words, []tsvWord{{seg: l1, x0: 300, text: "7"}, {seg: [3]int{-1}, x0: 10, text: "9"}})
	var texts []string
	for _, w := range got {
		texts = append(texts, w.text)
	}
	if want := []string{"Screws", "7", "8,71", "Project", "9"}; !reflect.DeepEqual(texts, want) {
		t.Fatalf("words %q, want %q", texts, want)
	}
}
