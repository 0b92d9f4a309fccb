package pdf

import (
	"errors"
	"strings"
	"testing"
)

// Files poppler reads although their header is missing, late or from a
// newer version: each is read, and the document says what was overlooked.
func TestParseForgivesHeaders(t *testing.T) {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		helvetica,
		"zstream:BT /F1 12 Tf 72 700 Td (Forgiven) Tj ET",
	}
	normal := buildPDF(objs, "")
	tests := []struct {
		name    string
		data    []byte
		warning string // "" when none is expected
		repair  bool   // the cross-reference data must be rebuilt
	}{
		{"normal", normal, "", false},
		// Offsets count from the header, as the spec's readers assume.
		{"junk before the header", append([]byte("Content-Type: application/pdf\r\n\r\n"), normal...), "33 bytes before the %PDF- header were skipped", false},
		{"no header at all", buildPDFWithHeader("", objs, ""), "no %PDF- header", true},
		{"PDF 2.0", buildPDFWithHeader("%PDF-2.0\n", objs, ""), "PDF version 2.0 read as PDF 1.7", false},
		{"PDF 2.0 with CRLF and junk", append([]byte("\xef\xbb\xbf"), buildPDFWithHeader("%PDF-2.0\r\n%\xe2\xe3\r\n", objs, "")...), "PDF version 2.0", false},
		{"comment on the header line", buildPDFWithHeader("%PDF-1.4 %\xe2\xe3\xcf\xd3\n", objs, ""), "", false},
		{"version 1.10", buildPDFWithHeader("%PDF-1.10\n", objs, ""), "PDF version 1.10 read as PDF 1.7", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := parse(t, tt.data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := collapse(doc.Text()); got != "Forgiven" {
				t.Errorf("text = %q", got)
			}
			warnings := strings.Join(doc.Warnings, "; ")
			if tt.warning == "" && warnings != "" || !strings.Contains(warnings, tt.warning) {
				t.Errorf("warnings = %q, want %q", warnings, tt.warning)
			}
			if strings.Contains(warnings, "rebuilt") != tt.repair {
				t.Errorf("warnings = %q: repaired %v, want %v", warnings, !tt.repair, tt.repair)
			}
			if !LooksLikePDF(tt.data) {
				t.Error("LooksLikePDF = false")
			}
		})
	}
}

// What is not a PDF at all is still refused, and cheaply.
func TestParseRefusesNonPDF(t *testing.T) {
	for _, data := range []string{"", "hello", "<?xml version=\"1.0\"?><Invoice/>", "\x89PNG\r\n\x1a\n", strings.Repeat("x", 5000) + "%PDF-1.4\n"} {
		if LooksLikePDF([]byte(data)) {
			t.Errorf("LooksLikePDF(%.20q) = true", data)
		}
		if _, err := parse(t, []byte(data), Options{}); !errors.Is(err, ErrMalformed) {
			t.Errorf("%.20q: err = %v, want ErrMalformed", data, err)
		}
	}
}
