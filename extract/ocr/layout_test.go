package ocr

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/pipeline"
)

// tw is a word for layout tests: tesseract line (block, par, line) and box.
func tw(block, line int, x0, y0, x1, y1 float64, text string) tsvWord {
	return tsvWord{seg: [3]int{block, 1, line}, x0: x0, y0: y0, x1: x1, y1: y1, conf: 0.9, text: text}
}

func lineTexts(r layoutResult) []string {
	var out []string
	for _, l := range r.lines {
		out = append(out, strings.TrimSpace(strings.Join(strings.Fields(l.Text), " ")))
	}
	return out
}

// An upright page as tesseract would report it: a heading, a label column
// and a value column as separate blocks (one visual row each), a table row,
// and a second line stacked under the first.
func uprightPage() tsvPage {
	return tsvPage{width: 1000, height: 1400, words: []tsvWord{
		tw(1, 1, 100, 100, 300, 140, "ACME"), tw(1, 1, 320, 100, 500, 140, "Supplies"),
		tw(1, 2, 100, 160, 250, 190, "Street"), tw(1, 2, 270, 160, 300, 190, "1"),
		tw(2, 1, 100, 300, 260, 330, "Invoice"), tw(2, 1, 280, 300, 350, 330, "No.:"),
		tw(3, 1, 700, 302, 900, 331, "INV-42"),
		tw(2, 2, 100, 350, 200, 380, "Date:"),
		tw(3, 2, 700, 351, 900, 381, "12.03.2024"),
		tw(4, 1, 100, 500, 250, 530, "Widget"), tw(4, 1, 600, 500, 620, 530, "2"), tw(4, 1, 800, 500, 900, 530, "20.00"),
	}}
}

func TestLayoutRows(t *testing.T) {
	r := layout(uprightPage(), 1000, 1400, 300)
	want := []string{"ACME Supplies", "Street 1", "Invoice No.: INV-42", "Date: 12.03.2024", "Widget 2 20.00"}
	if got := lineTexts(r); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("lines %q, want %q", got, want)
	}
	// Columns keep their distance as runs of spaces; near words one space.
	row := r.lines[2].Text
	if !strings.Contains(row, "No.:   ") || strings.Contains(row, "Invoice  ") {
		t.Errorf("row %q: want a wide gap before the value and one space inside the label", row)
	}
	// Boxes in points: pixels * 72 / 300, the union of the words.
	b := r.lines[0].Box
	if b.X0 != 24 || b.Y0 != 24 || b.X1 != 120 || b.Y1 != 33.6 {
		t.Errorf("line box %+v", b)
	}
	if n := len(r.lines[4].Words); n != 3 || r.lines[4].Words[2].Text != "20.00" || r.lines[4].Words[2].Box.X0 != 192 {
		t.Errorf("words %+v", r.lines[4].Words)
	}
	if r.rotation != 0 || r.skew != 0 || r.confidence != 0.9 || r.words != 12 {
		t.Errorf("rotation %d skew %v confidence %v words %d", r.rotation, r.skew, r.confidence, r.words)
	}
	for _, l := range r.lines {
		if got := strings.Join(strings.Fields(l.Text), " "); got != joinWords(l.Words) {
			t.Errorf("line %q has words %q", l.Text, joinWords(l.Words))
		}
	}
}

func joinWords(ws []pipeline.Word) string {
	var s []string
	for _, w := range ws {
		s = append(s, w.Text)
	}
	return strings.Join(s, " ")
}

// Tesseract reads a turned page turned back but reports boxes in the image
// as given; layout finds the turn from the direction lines run and maps
// every box back into the upright page.
func TestLayoutRotations(t *testing.T) {
	up := layout(uprightPage(), 1000, 1400, 300)
	for _, turnBy := range []int{90, 180, 270} {
		t.Run(fmt.Sprint(turnBy), func(t *testing.T) {
			// The image turned clockwise by turnBy: boxes move with it.
			tp := uprightPage()
			W, H := float64(tp.width), float64(tp.height)
			for i, w := range tp.words {
				tp.words[i].x0, tp.words[i].y0, tp.words[i].x1, tp.words[i].y1 = turn(w.x0, w.y0, w.x1, w.y1, turnBy, W, H)
			}
			if turnBy != 180 {
				tp.width, tp.height = tp.height, tp.width
			}
			r := layout(tp, tp.width, tp.height, 300)
			if want := (360 - turnBy) % 360; r.rotation != want {
				t.Fatalf("rotation %d, want %d", r.rotation, want)
			}
			if r.width != 1000 || r.height != 1400 {
				t.Errorf("upright size %v x %v", r.width, r.height)
			}
			if fmt.Sprint(lineTexts(r)) != fmt.Sprint(lineTexts(up)) {
				t.Errorf("lines %q, want %q", lineTexts(r), lineTexts(up))
			}
			for i := range up.lines {
				if i < len(r.lines) && r.lines[i].Box != up.lines[i].Box {
					t.Errorf("line %d box %+v, want %+v", i, r.lines[i].Box, up.lines[i].Box)
				}
			}
		})
	}
}

// A page skewed by 2 degrees: a long table row drifts by more than a line
// height from one end to the other, and its label and value are separate
// tesseract lines. Measured skew is taken out before rows are formed.
func TestLayoutSkew(t *testing.T) {
	slope := -math.Tan(2 * math.Pi / 180) // rising to the right
	var words []tsvWord
	for row := range 6 {
		y := 200 + float64(row)*45
		for col, x := range []float64{100, 260, 1400, 1700, 2100} {
			dy := slope * (x - 1240)
			block := 1
			if col >= 2 {
				block = 2 // values are a block of their own
			}
			words = append(words, tw(block, row+1, x, y+dy, x+120, y+dy+30, fmt.Sprintf("r%dc%d", row, col)))
		}
	}
	r := layout(tsvPage{width: 2480, height: 3508, words: words}, 2480, 3508, 300)
	if len(r.lines) != 6 {
		t.Fatalf("%d lines, want 6: %q", len(r.lines), lineTexts(r))
	}
	for i, l := range lineTexts(r) {
		want := fmt.Sprintf("r%[1]dc0 r%[1]dc1 r%[1]dc2 r%[1]dc3 r%[1]dc4", i)
		if l != want {
			t.Errorf("line %d %q, want %q", i, l, want)
		}
	}
	if math.Abs(r.skew-2) > 0.05 {
		t.Errorf("skew %v, want 2", r.skew)
	}
}

// A column of item numbers that tesseract reads as one "line" must not join
// (and stretch) the first table row.
func TestLayoutStackedLine(t *testing.T) {
	tp := tsvPage{width: 1000, height: 1000, words: []tsvWord{
		tw(1, 1, 50, 100, 70, 130, "1"), tw(1, 1, 50, 150, 70, 180, "2"), tw(1, 1, 50, 200, 70, 230, "3"),
		tw(1, 1, 40, 250, 80, 280, "10"), tw(1, 1, 40, 300, 80, 330, "11"),
		tw(2, 1, 200, 100, 400, 130, "Apples"), tw(2, 2, 200, 150, 400, 180, "Pears"), tw(2, 3, 200, 200, 400, 230, "Plums"),
		tw(2, 4, 200, 250, 400, 280, "Kiwis"), tw(2, 5, 200, 300, 400, 330, "Limes"),
	}}
	r := layout(tp, 1000, 1000, 300)
	if r.rotation != 0 {
		t.Errorf("rotation %d", r.rotation)
	}
	if got, want := lineTexts(r), []string{"1 Apples", "2 Pears", "3 Plums", "10 Kiwis", "11 Limes"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lines %q, want %q", got, want)
	}
}

func TestLayoutEmpty(t *testing.T) {
	r := layout(tsvPage{width: 100, height: 200}, 100, 200, 300)
	if len(r.lines) != 0 || r.width != 100 || r.height != 200 || r.confidence != 0 {
		t.Errorf("%+v", r)
	}
}

func TestParseTSV(t *testing.T) {
	head := "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
	good := head +
		"1\t1\t0\t0\t0\t0\t0\t0\t2481\t3508\t-1\t\n" +
		"2\t1\t1\t0\t0\t0\t100\t100\t500\t50\t-1\t\n" +
		"4\t1\t1\t1\t1\t0\t100\t100\t500\t50\t-1\t\n" +
		"5\t1\t1\t1\t1\t1\t100\t100\t200\t50\t96.5\tInvoice\n" +
		"5\t1\t1\t1\t1\t2\t320\t100\t280\t50\t12.25\tNo.:\n" +
		"5\t1\t1\t1\t1\t3\t620\t100\t10\t50\t95\t|\n" +
		"5\t1\t1\t1\t1\t4\t640\t100\t10\t50\t95\t \n" +
		"5\t1\t1\t1\t2\t1\t100\t200\t200\t50\t101\tTotal\n" +
		"1\t2\t0\t0\t0\t0\t0\t0\t99\t99\t-1\t\n" +
		"5\t2\t1\t1\t1\t1\t1\t1\t2\t2\t50\tnext-page\n"
	p, err := parseTSV([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if p.width != 2481 || p.height != 3508 || len(p.words) != 3 {
		t.Fatalf("%+v", p)
	}
	w := p.words[1]
	if w.text != "No.:" || w.conf != 0.1225 || w.x0 != 320 || w.x1 != 600 || w.y1 != 150 || w.seg != [3]int{1, 1, 1} {
		t.Errorf("word %+v", w)
	}
	if p.words[2].conf != 1 || p.words[2].seg != [3]int{1, 1, 2} {
		t.Errorf("confidence is clamped to 0..1 and lines told apart: %+v", p.words[2])
	}
	for name, bad := range map[string]string{
		"few fields":   head + "5\t1\t1\n",
		"not a number": head + "5\t1\t1\t1\t1\t1\tx\t100\t200\t50\t96\tw\n",
		"negative box": head + "5\t1\t1\t1\t1\t1\t10\t100\t-200\t50\t96\tw\n",
		"huge":         head + "5\t1\t1\t1\t1\t1\t10\t100\t99999999\t50\t96\tw\n",
		"bad conf":     head + "5\t1\t1\t1\t1\t1\t10\t100\t200\t50\tNaN\tw\n",
		"not utf-8":    head + "5\t1\t1\t1\t1\t1\t10\t100\t200\t50\t96\t\xff\n",
	} {
		if _, err := parseTSV([]byte(bad)); !errors.Is(err, ErrEngine) {
			t.Errorf("%s: err %v, want ErrEngine", name, err)
		}
	}
	if p, err := parseTSV([]byte(head)); err != nil || len(p.words) != 0 {
		t.Errorf("header only: %+v %v", p, err)
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"auto": ModeAuto, " Force ": ModeForce, "off": ModeOff} {
		if m, err := ParseMode(in); err != nil || m != want {
			t.Errorf("ParseMode(%q) = %q, %v", in, m, err)
		}
	}
	if _, err := ParseMode("sometimes"); err == nil {
		t.Error("ParseMode(sometimes): no error")
	}
}

func TestLanguagePackage(t *testing.T) {
	for code, pkg := range map[string]string{"deu": "tesseract-ocr-deu", "chi_sim": "tesseract-ocr-chi-sim", "deu_latf": "tesseract-ocr-deu-latf"} {
		if got := LanguagePackage(code); got != pkg {
			t.Errorf("LanguagePackage(%q) = %q, want %q", code, got, pkg)
		}
	}
	dir, langs := parseLangList("List of available languages in \"/usr/share/tesseract-ocr/5/tessdata/\" (3):\nfra\neng\nosd\n")
	if dir != "/usr/share/tesseract-ocr/5/tessdata/" || fmt.Sprint(langs) != "[eng fra osd]" {
		t.Errorf("parseLangList: %q %q", dir, langs)
	}
}
