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
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
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
