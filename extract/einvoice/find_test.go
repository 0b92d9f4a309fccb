package einvoice

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/pipeline"
)

func attachment(name string, data []byte) pipeline.Attachment {
	sum := sha256.Sum256(data)
	return pipeline.Attachment{Name: name, Data: data, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
}

func TestFind(t *testing.T) {
	en := cii("urn:cen.eu:en16931:2017", "", "", ciiSettlement, ciiLine)
	zf1 := readTestdata(t, "zugferd1.xml")
	ubl := readTestdata(t, "ubl-invoice.xml")
	logo := attachment("logo.png", []byte("\x89PNG\r\n"))
	tests := []struct {
		name    string
		doc     pipeline.Document
		want    string // the attachment found
		wantErr error
		skipped int
	}{
		{name: "known name first", doc: pipeline.Document{Attachments: []pipeline.Attachment{logo, attachment("ZUGFeRD-invoice.xml", zf1), attachment("factur-x.xml", en)}}, want: "factur-x.xml"},
		{name: "XMP names the file", doc: pipeline.Document{Meta: map[string]string{pipeline.MetaEInvoiceDocumentFileName: "ZUGFeRD-invoice.xml"},
			Attachments: []pipeline.Attachment{attachment("factur-x.xml", en), attachment("ZUGFeRD-invoice.xml", zf1)}}, want: "ZUGFeRD-invoice.xml"},
		{name: "other XML by its root element", doc: pipeline.Document{Attachments: []pipeline.Attachment{logo, attachment("UBL-Invoice-2.1.xml", ubl)}}, want: "UBL-Invoice-2.1.xml"},
		{name: "unnamed XML by its bytes", doc: pipeline.Document{Attachments: []pipeline.Attachment{attachment("Attachement1", en)}}, want: "Attachement1"},
		{name: "a broken known file falls back to another", doc: pipeline.Document{Attachments: []pipeline.Attachment{attachment("factur-x.xml", en[:200]), attachment("invoice.xml", ubl)}},
			want: "invoice.xml", skipped: 1},
		{name: "nothing", doc: pipeline.Document{Attachments: []pipeline.Attachment{logo}}, wantErr: ErrNoInvoice},
		{name: "no attachments", doc: pipeline.Document{}, wantErr: ErrNoInvoice},
		{name: "malformed only", doc: pipeline.Document{Attachments: []pipeline.Attachment{attachment("factur-x.xml", en[:200])}}, wantErr: ErrMalformed},
		{name: "not an invoice", doc: pipeline.Document{Attachments: []pipeline.Attachment{attachment("order.xml", []byte(`<Order xmlns="urn:x"/>`))}}, wantErr: ErrUnknownSyntax},
		{name: "too large to keep", doc: pipeline.Document{Attachments: []pipeline.Attachment{{Name: "factur-x.xml", Omitted: "not kept: larger than 16777216 bytes"}}}, wantErr: ErrNoInvoice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Find(tt.doc)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Find = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Attachment.Name != tt.want || len(f.Skipped) != tt.skipped {
				t.Errorf("found %q (skipped %q), want %q", f.Attachment.Name, f.Skipped, tt.want)
			}
			src := f.Source()
			if src.Kind != "einvoice" || src.Attachment != tt.want || src.SHA256 != f.Attachment.SHA256 || src.Syntax == "" {
				t.Errorf("source = %+v", src)
			}
		})
	}
}

func TestDocument(t *testing.T) {
	ubl := readTestdata(t, "ubl-invoice.xml")
	doc, err := Document(ubl, "/in/box/rechnung-0815.xml")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(ubl)
	if doc.ID != hex.EncodeToString(sum[:]) || doc.Parser != ParserVersion || len(doc.Pages) != 0 || doc.Pages == nil || len(doc.Attachments) != 1 {
		t.Fatalf("doc = %+v", doc)
	}
	a := doc.Attachments[0]
	if a.Name != "rechnung-0815.xml" || a.SHA256 != doc.ID || string(a.Data) != string(ubl) {
		t.Errorf("attachment = %+v", a)
	}
	f, err := Find(doc)
	if err != nil || f.Invoice.Number != "UBL-2024-0815" {
		t.Fatalf("Find on an XML document: %v, %+v", err, f.Invoice)
	}
	for _, bad := range []struct {
		data string
		want error
	}{{"<a>", ErrMalformed}, {"<a/>", ErrUnknownSyntax}} {
		doc, err := Document([]byte(bad.data), "x.xml")
		if !errors.Is(err, bad.want) || doc.ID == "" || len(doc.Attachments) != 1 {
			t.Errorf("Document(%q) = %+v, %v", bad.data, doc, err)
		}
	}
	if !IsXML([]byte("\ufeff<?xml version")) || !IsXML([]byte("  <Invoice")) || IsXML([]byte("%PDF-1.7")) || IsXML([]byte("<< /Type")) {
		t.Error("IsXML")
	}
	if !strings.HasPrefix(ParserVersion, "einvoice-xml/") {
		t.Error(ParserVersion)
	}
}
