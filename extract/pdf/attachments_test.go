package pdf

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/pipeline"
)

// streamObj writes a stream object body with dict's entries, the content
// Flate-compressed when flate is set.
func streamObj(dict string, content []byte, flate bool) string {
	if flate {
		var z bytes.Buffer
		w := zlib.NewWriter(&z)
		w.Write(content)
		w.Close()
		content = z.Bytes()
		dict += " /Filter /FlateDecode"
	}
	return fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(content), content)
}

// utf16Hex is a PDF text string in UTF-16BE with a byte order mark, as
// fpdf and most writers give file names.
func utf16Hex(s string) string {
	var b strings.Builder
	b.WriteString("<FEFF")
	for _, r := range s {
		fmt.Fprintf(&b, "%04X", r)
	}
	b.WriteString(">")
	return b.String()
}

const invoiceXML = `<?xml version="1.0" encoding="UTF-8"?><rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"/>`

const facturXMP = `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
<pdfaProperty:name>ConformanceLevel</pdfaProperty:name></rdf:Description>
<rdf:Description rdf:about="" xmlns:fx="urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#" fx:ConformanceLevel="EN 16931">
<fx:DocumentType>INVOICE</fx:DocumentType><fx:DocumentFileName>factur-x.xml</fx:DocumentFileName><fx:Version>1.0</fx:Version>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`

// hybridPDF is a one-page document that carries attachments: objects 1-5
// are the catalog (with catalogExtra), the page tree, the page, its font
// and its content; extra objects follow from 6.
func hybridPDF(catalogExtra string, extra ...string) []byte {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R " + catalogExtra + " >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		helvetica,
		"zstream:BT /F1 12 Tf 72 700 Td (Invoice RE-1 total 119,00 EUR) Tj ET",
	}
	return buildPDF(append(objs, extra...), "")
}

func TestAttachments(t *testing.T) {
	xml := []byte(invoiceXML)
	sum := sha256.Sum256(xml)
	notes := []byte("delivery notes")
	data := hybridPDF("/Names << /EmbeddedFiles 6 0 R >> /AF [7 0 R] /Metadata 11 0 R",
		// 6: name tree root with a leaf kid and a kid that refers back (a cycle)
		"<< /Kids [8 0 R 6 0 R] >>",
		// 7: the invoice's file specification
		"<< /Type /Filespec /F (factur-x.xml) /UF "+utf16Hex("factur-x.xml")+" /AFRelationship /Data /Desc (Factur-X invoice) /EF << /F 9 0 R /UF 9 0 R >> >>",
		// 8: a leaf listing the invoice again (same object) and a second file
		"<< /Names [(factur-x.xml) 7 0 R (notes.txt) 10 0 R] >>",
		streamObj("/Type /EmbeddedFile /Subtype /text#2Fxml /Params << /Size 130 >>", xml, true),
		"<< /Type /Filespec /F (notes.txt) /EF << /F 12 0 R >> >>",
		streamObj("/Type /Metadata /Subtype /XML", []byte(facturXMP), false),
		streamObj("/Type /EmbeddedFile", notes, false),
	)
	doc, err := ParseBytes(context.Background(), data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []pipeline.Attachment{
		{Name: "factur-x.xml", Description: "Factur-X invoice", Relationship: "Data", Associated: true, MIMEType: "text/xml",
			Size: int64(len(xml)), SHA256: hex.EncodeToString(sum[:]), Data: xml},
		{Name: "notes.txt", Size: int64(len(notes)), SHA256: sha(notes), Data: notes},
	}
	if !reflect.DeepEqual(doc.Attachments, want) {
		t.Errorf("attachments:\n%+v\nwant\n%+v", doc.Attachments, want)
	}
	for k, v := range map[string]string{
		pipeline.MetaEInvoiceSchema: "Factur-X", pipeline.MetaEInvoiceConformanceLevel: "EN 16931", pipeline.MetaEInvoiceDocumentType: "INVOICE",
		pipeline.MetaEInvoiceDocumentFileName: "factur-x.xml", pipeline.MetaEInvoiceVersion: "1.0",
	} {
		if doc.Meta[k] != v {
			t.Errorf("Meta[%s] = %q, want %q", k, doc.Meta[k], v)
		}
	}
	if !slices.ContainsFunc(doc.Warnings, func(w string) bool { return strings.Contains(w, "refers back to object 6 0") }) {
		t.Errorf("no warning about the name tree's cycle: %q", doc.Warnings)
	}
	if doc.TextPages() != 1 || !strings.Contains(doc.Text(), "RE-1") {
		t.Errorf("the page text suffered: %q", doc.Text())
	}

	// The document travels back from an isolated child as JSON: the
	// attachments' bytes must survive it.
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var back pipeline.Document
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back.Attachments, doc.Attachments) || !reflect.DeepEqual(back.Meta, doc.Meta) {
		t.Errorf("JSON round trip lost attachments: %v", err)
	}
	iso, err := testIsolation(t, "1").ParseBytes(context.Background(), data, Options{})
	if err != nil || !reflect.DeepEqual(iso.Attachments, doc.Attachments) || iso.Meta[pipeline.MetaEInvoiceConformanceLevel] != "EN 16931" {
		t.Errorf("isolated parse: %v, attachments %+v", err, iso.Attachments)
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestAttachmentFailures: attachments that cannot be read are listed with
// the reason and warned about; the parse itself never fails over them.
func TestAttachmentFailures(t *testing.T) {
	big := MaxAttachmentBytes + 1
	data := hybridPDF("/Names << /EmbeddedFiles << /Names [(lzw.xml) 6 0 R (big.xml) 8 0 R (nostream.xml) 10 0 R (dangling.xml) 99 0 R (broken.xml) 11 0 R] >> >>",
		"<< /Type /Filespec /UF (lzw.xml) /EF << /F 7 0 R >> >>",
		streamObj("/Type /EmbeddedFile /Filter /LZWDecode", []byte("\x80\x0b\x60\x50"), false),
		"<< /Type /Filespec /UF (big.xml) /EF << /F 9 0 R >> >>",
		streamObj(fmt.Sprintf("/Type /EmbeddedFile /Params << /Size %d >>", big), []byte("<a/>"), false),
		"<< /Type /Filespec /UF (nostream.xml) >>",
		"<< /Type /Filespec /UF (broken.xml) /EF << /F 12 0 R >> >>",
		"<< /Type /EmbeddedFile /Length 10 /Filter /FlateDecode >>\nstream\nnot zlib..\nendstream",
	)
	doc, err := ParseBytes(context.Background(), data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]pipeline.Attachment{}
	for _, a := range doc.Attachments {
		got[a.Name] = a
	}
	for name, want := range map[string]string{
		"lzw.xml":      "unreadable",
		"big.xml":      "not kept: larger than",
		"nostream.xml": "no embedded file stream",
		"broken.xml":   "unreadable",
	} {
		a, ok := got[name]
		if !ok || a.Data != nil || !strings.Contains(a.Omitted, want) {
			t.Errorf("%s: %+v, want omitted %q", name, a, want)
		}
		if !slices.ContainsFunc(doc.Warnings, func(w string) bool { return strings.Contains(w, name) }) {
			t.Errorf("no warning names %s: %q", name, doc.Warnings)
		}
	}
	if got["big.xml"].Size != int64(big) {
		t.Errorf("big.xml size %d, want the declared %d", got["big.xml"].Size, big)
	}
	if _, ok := got["dangling.xml"]; ok {
		t.Error("a dangling reference was listed")
	}
}

// TestAttachmentsNone: a PDF without attachments has none, and no
// e-invoice metadata.
func TestAttachmentsNone(t *testing.T) {
	doc, err := ParseBytes(context.Background(), hybridPDF(""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Attachments != nil || doc.Meta[pipeline.MetaEInvoiceConformanceLevel] != "" || len(doc.Warnings) != 0 {
		t.Errorf("attachments %+v, meta %v, warnings %q", doc.Attachments, doc.Meta, doc.Warnings)
	}
	b, _ := json.Marshal(doc)
	if bytes.Contains(b, []byte("attachments")) {
		t.Errorf("empty attachments are written out: %s", b)
	}
}

func TestInvoiceXMP(t *testing.T) {
	tests := []struct {
		name, xmp string
		want      map[string]string
	}{
		{"Factur-X attributes and elements", facturXMP, map[string]string{
			pipeline.MetaEInvoiceSchema: "Factur-X", pipeline.MetaEInvoiceConformanceLevel: "EN 16931", pipeline.MetaEInvoiceDocumentType: "INVOICE",
			pipeline.MetaEInvoiceDocumentFileName: "factur-x.xml", pipeline.MetaEInvoiceVersion: "1.0"}},
		{"ZUGFeRD 1.0", `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:zf="urn:ferd:pdfa:CrossIndustryDocument:invoice:1p0#"><zf:ConformanceLevel>COMFORT</zf:ConformanceLevel></rdf:Description></rdf:RDF></x:xmpmeta>`,
			map[string]string{pipeline.MetaEInvoiceSchema: "ZUGFeRD", pipeline.MetaEInvoiceConformanceLevel: "COMFORT"}},
		{"ZUGFeRD 2 XRechnung", `<rdf:Description xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:fx="urn:zugferd:pdfa:CrossIndustryDocument:invoice:2p0#" fx:ConformanceLevel="XRECHNUNG" fx:DocumentFileName="xrechnung.xml"/>`,
			map[string]string{pipeline.MetaEInvoiceSchema: "ZUGFeRD", pipeline.MetaEInvoiceConformanceLevel: "XRECHNUNG", pipeline.MetaEInvoiceDocumentFileName: "xrechnung.xml"}},
		{"other schemas only", `<rdf:Description xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:pdf="http://ns.adobe.com/pdf/1.3/" pdf:Version="1.7"/>`, nil},
		{"not XML", "\x00\x01garbage<<", nil},
	}
	for _, tt := range tests {
		if got := invoiceXMP([]byte(tt.xmp)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestAttachmentsBounded: a name tree with more files than the limit
// lists the limit and says so, without reading the rest.
func TestAttachmentsBounded(t *testing.T) {
	var names strings.Builder
	for i := range maxAttachments + 10 {
		fmt.Fprintf(&names, "(f%d.txt) << /Type /Filespec /UF (f%d.txt) /EF << /F 6 0 R >> >> ", i, i)
	}
	data := hybridPDF("/Names << /EmbeddedFiles << /Names ["+names.String()+"] >> >>",
		streamObj("/Type /EmbeddedFile", []byte("same bytes"), false))
	doc, err := ParseBytes(context.Background(), data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Same bytes under different names are different files.
	if len(doc.Attachments) != maxAttachments {
		t.Errorf("%d attachments, want %d", len(doc.Attachments), maxAttachments)
	}
	if !slices.ContainsFunc(doc.Warnings, func(w string) bool { return strings.Contains(w, "the rest are not listed") }) {
		t.Errorf("warnings %q", doc.Warnings)
	}
}
