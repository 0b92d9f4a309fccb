package pdf

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"strings"
)

// buildPDF assembles a PDF from object bodies numbered from 1, with a
// correct cross-reference table. Object 1 must be the catalog. A body that
// starts with "stream:" is written as a stream with that content.
// trailerExtra goes into the trailer dictionary; xrefOffset, when not nil,
// receives the offset of the xref table.
func buildPDF(objs []string, trailerExtra string) []byte {
	return buildPDFWithHeader("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", objs, trailerExtra)
}

// buildPDFWithHeader is buildPDF with the given bytes before the first
// object (offsets count from the start of those bytes).
func buildPDFWithHeader(header string, objs []string, trailerExtra string) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	offsets := make([]int, len(objs))
	for i, body := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n", i+1)
		if s, ok := strings.CutPrefix(body, "stream:"); ok {
			fmt.Fprintf(&b, "<< /Length %d >>\nstream\n%s\nendstream", len(s), s)
		} else if s, ok := strings.CutPrefix(body, "zstream:"); ok {
			var z bytes.Buffer
			w := zlib.NewWriter(&z)
			w.Write([]byte(s))
			w.Close()
			fmt.Fprintf(&b, "<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", z.Len(), z.Bytes())
		} else {
			b.WriteString(body)
		}
		b.WriteString("\nendobj\n")
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	trailerExtra = strings.ReplaceAll(trailerExtra, "XREF", fmt.Sprint(xref))
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R %s >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, trailerExtra, xref)
	return b.Bytes()
}

// helvetica is a standard-14 font resource without Widths, as many
// generators (fpdf among them) write it.
const helvetica = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"

// onePage builds a one-page document (US Letter) whose content is given,
// with Helvetica as /F1 and any extra objects appended from object 5 on.
func onePage(content string, extra ...string) []byte {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> /XObject << /X1 5 0 R /Im1 6 0 R >> >> /Contents 7 0 R >>",
		helvetica,
	}
	for len(extra) < 2 {
		extra = append(extra, "<< >>")
	}
	objs = append(objs, extra[0], extra[1], "zstream:"+content)
	return buildPDF(objs, "")
}

// xrefEntry is one entry of a cross-reference stream built by
// buildXrefStreamPDF: type 1 (offset of a written object) or type 2 (in
// object stream Stream at index Index).
type xrefEntry struct {
	Type          int
	Stream, Index int
}

// buildXrefStreamPDF assembles a PDF 1.5 file whose cross-reference data is
// an uncompressed cross-reference stream (W [1 4 2]). objs are written as
// numbered objects like buildPDF's; inStream lists further object numbers
// that live in object streams (type 2 entries); an empty body is not
// written, and "objstm:DICT|DATA" writes an object stream. dict is added to the xref
// stream's dictionary ("/Size N" is written unless dict sets it).
func buildXrefStreamPDF(objs []string, inStream map[int]xrefEntry, dict string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
	offsets := map[int]int{}
	for i, body := range objs {
		if body == "" {
			continue // not written: an object stream holds it, or nothing does
		}
		offsets[i+1] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n", i+1)
		if s, ok := strings.CutPrefix(body, "stream:"); ok {
			fmt.Fprintf(&b, "<< /Length %d >>\nstream\n%s\nendstream", len(s), s)
		} else if s, ok := strings.CutPrefix(body, "objstm:"); ok {
			// "objstm:DICT|DATA": an object stream with extra dictionary entries.
			d, data, _ := strings.Cut(s, "|")
			fmt.Fprintf(&b, "<< /Type /ObjStm %s /Length %d >>\nstream\n%s\nendstream", d, len(data), data)
		} else {
			b.WriteString(body)
		}
		b.WriteString("\nendobj\n")
	}
	size := len(objs) + 2 // the xref stream is the last object
	for n := range inStream {
		size = max(size, n+2)
	}
	xrefNum := size - 1
	var rows bytes.Buffer
	row := func(typ, a, c int) {
		rows.Write([]byte{byte(typ), byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a), byte(c >> 8), byte(c)})
	}
	xref := b.Len()
	for n := 0; n < size; n++ {
		switch {
		case n == xrefNum:
			row(1, xref, 0)
		case offsets[n] > 0:
			row(1, offsets[n], 0)
		case inStream[n].Type == 2:
			row(2, inStream[n].Stream, inStream[n].Index)
		default:
			row(0, 0, 65535)
		}
	}
	if !strings.Contains(dict, "/Size") {
		dict = fmt.Sprintf("/Size %d %s", size, dict)
	}
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /XRef /W [1 4 2] /Root 1 0 R /Length %d %s >>\nstream\n", xrefNum, rows.Len(), dict)
	b.Write(rows.Bytes())
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", xref)
	return b.Bytes()
}
