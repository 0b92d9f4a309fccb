package ocr

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tsvWord is one word of tesseract's TSV output, in the pixels of the image
// it was given.
type tsvWord struct {
	// seg identifies the tesseract line the word is on (block, paragraph,
	// line); words of one line are consecutive and left to right.
	seg            [3]int
	x0, y0, x1, y1 float64
	conf           float64 // 0..1
	text           string
}

// tsvPage is what tesseract recognised on one image.
type tsvPage struct {
	width, height int // the image, from the page row (0 when absent)
	words         []tsvWord
}

// maxTSVCoord bounds coordinates: no image we accept is wider or taller.
const maxTSVCoord = 1 << 20

// parseTSV reads tesseract's TSV output: a header row, then rows of level,
// page_num, block_num, par_num, line_num, word_num, left, top, width,
// height, conf and text. Level 1 is the page, level 5 a word; the levels in
// between only group words, which the numbers already do. Only the first
// page is read (this package gives tesseract one page at a time). Rows that
// do not parse are an error: the output is not what this code understands.
func parseTSV(data []byte) (tsvPage, error) {
	var p tsvPage
	if !utf8.Valid(data) {
		return p, fmt.Errorf("%w: tesseract output is not UTF-8", ErrEngine)
	}
	page := -1
	for n, row := range bytes.Split(data, []byte("\n")) {
		row = bytes.TrimSuffix(row, []byte("\r"))
		if len(row) == 0 || (n == 0 && bytes.HasPrefix(row, []byte("level\t"))) {
			continue
		}
		f := strings.SplitN(string(row), "\t", 12)
		if len(f) < 11 {
			return p, fmt.Errorf("%w: tesseract output row %d has %d fields", ErrEngine, n+1, len(f))
		}
		var v [10]int
		for i := range v {
			x, err := strconv.Atoi(f[i])
			if err != nil || x < -1 || x > maxTSVCoord {
				return p, fmt.Errorf("%w: tesseract output row %d field %d is %q", ErrEngine, n+1, i+1, f[i])
			}
			v[i] = x
		}
		level, pageNum := v[0], v[1]
		if page < 0 {
			page = pageNum
		}
		if pageNum != page {
			break
		}
		left, top, w, h := v[6], v[7], v[8], v[9]
		if left < 0 || top < 0 || w < 0 || h < 0 {
			return p, fmt.Errorf("%w: tesseract output row %d has a negative box", ErrEngine, n+1)
		}
		switch level {
		case 1:
			p.width, p.height = left+w, top+h
		case 5:
			text := ""
			if len(f) == 12 {
				text = strings.TrimFunc(f[11], unicode.IsSpace)
			}
			if text == "" || strings.ContainsFunc(text, unicode.IsControl) || isRule(text) {
				continue
			}
			conf, err := strconv.ParseFloat(f[10], 64)
			if err != nil || math.IsNaN(conf) {
				return p, fmt.Errorf("%w: tesseract output row %d confidence %q", ErrEngine, n+1, f[10])
			}
			p.words = append(p.words, tsvWord{
				seg: [3]int{v[2], v[3], v[4]},
				x0:  float64(left), y0: float64(top), x1: float64(left + w), y1: float64(top + h),
				conf: min(max(conf, 0), 100) / 100,
				text: text,
			})
		}
	}
	return p, nil
}

// isRule tells the "words" tesseract reads from table borders and form
// lines (|, ||, ___) from text: a born-digital table has no such text.
func isRule(text string) bool {
	return strings.Trim(text, "|¦_") == ""
}
