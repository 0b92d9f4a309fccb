package einvoice

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	pathpkg "path"
	"slices"
	"strings"

	"github.com/extractor-dev/extractor/pipeline"
)

// KnownNames are the file names the standards give the invoice XML, in
// the order Find prefers them: Factur-X and ZUGFeRD 2.1+ (factur-x.xml),
// XRechnung in a ZUGFeRD container (xrechnung.xml), ZUGFeRD 2.0
// (zugferd-invoice.xml) and 1.0 (ZUGFeRD-invoice.xml). Names compare
// without regard to case.
var KnownNames = []string{"factur-x.xml", "xrechnung.xml", "zugferd-invoice.xml"}

// Found is the e-invoice a document carries.
type Found struct {
	// Attachment is the attachment it was read from.
	Attachment pipeline.Attachment
	Invoice    *Invoice
	// Skipped says why other candidates were not used (unreadable, not
	// an invoice).
	Skipped []string
}

// Source describes the found e-invoice for lineage.
func (f Found) Source() *pipeline.Source {
	s := &pipeline.Source{Kind: "einvoice", Attachment: f.Attachment.Name, Relationship: f.Attachment.Relationship,
		Syntax: string(f.Invoice.Syntax), Profile: string(f.Invoice.Profile), Guideline: f.Invoice.Guideline,
		SHA256: f.Attachment.SHA256, RulesChecked: f.Invoice.RulesChecked}
	for _, v := range f.Invoice.Violations {
		if !slices.Contains(s.Violations, v.Rule) {
			s.Violations = append(s.Violations, v.Rule)
		}
	}
	return s
}

// Find picks the e-invoice among the document's attachments and reads
// it. Candidates are tried in this order: the file the XMP metadata names
// (fx:DocumentFileName), the known names (KnownNames), then any other
// attachment that looks like XML (an .xml name, an XML MIME type, or
// bytes that start like XML), which is used when its root element is an
// invoice syntax. The first candidate that reads wins; the others are
// listed in Found.Skipped.
//
// Without any candidate Find returns ErrNoInvoice. When candidates exist
// but none reads, it returns the first one's error (ErrMalformed,
// ErrUnknownSyntax, ErrTooLarge), naming the attachment.
func Find(doc pipeline.Document) (Found, error) {
	var found Found
	var firstErr error
	for _, i := range candidates(doc) {
		a := doc.Attachments[i]
		if a.Data == nil {
			msg := fmt.Sprintf("%s: not read (%s)", a.Name, a.Omitted)
			found.Skipped = append(found.Skipped, msg)
			if firstErr == nil && known(a.Name) {
				firstErr = fmt.Errorf("%w: %s", ErrNoInvoice, msg)
			}
			continue
		}
		inv, err := Read(a.Data)
		if err != nil {
			found.Skipped = append(found.Skipped, fmt.Sprintf("%s: %v", a.Name, err))
			if firstErr == nil {
				firstErr = fmt.Errorf("attachment %s: %w", a.Name, err)
			}
			continue
		}
		if a.SHA256 == "" {
			sum := sha256.Sum256(a.Data)
			a.SHA256 = hex.EncodeToString(sum[:])
		}
		found.Attachment, found.Invoice = a, inv
		return found, nil
	}
	if firstErr != nil {
		return found, firstErr
	}
	return found, ErrNoInvoice
}

func known(name string) bool {
	for _, k := range KnownNames {
		if strings.EqualFold(pathpkg.Base(name), k) {
			return true
		}
	}
	return false
}

// candidates returns the indexes of attachments worth reading, best
// first.
func candidates(doc pipeline.Document) []int {
	rank := func(a pipeline.Attachment) int {
		base := pathpkg.Base(a.Name)
		if f := doc.Meta[pipeline.MetaEInvoiceDocumentFileName]; f != "" && strings.EqualFold(base, f) {
			return 0
		}
		for i, k := range KnownNames {
			if strings.EqualFold(base, k) {
				return 1 + i
			}
		}
		if looksXML(a) {
			return 1 + len(KnownNames)
		}
		return -1
	}
	var idx []int
	for i, a := range doc.Attachments {
		if rank(a) >= 0 {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(i, j int) int { return rank(doc.Attachments[i]) - rank(doc.Attachments[j]) })
	return idx
}

func looksXML(a pipeline.Attachment) bool {
	if strings.EqualFold(pathpkg.Ext(a.Name), ".xml") || strings.Contains(strings.ToLower(a.MIMEType), "xml") {
		return true
	}
	d := bytes.TrimLeft(bytes.TrimPrefix(a.Data, []byte{0xEF, 0xBB, 0xBF}), " \t\r\n")
	return bytes.HasPrefix(d, []byte("<?xml")) || bytes.HasPrefix(d, []byte("<"))
}

// ParserVersion names Document's behaviour, as pdf.Version does the PDF
// parser's.
const ParserVersion = "einvoice-xml/1"

// Document makes a pipeline.Document of an XML e-invoice (an XRechnung,
// a Peppol UBL file): its ID is the SHA-256 of the bytes, it has no pages
// (nothing is printed), and its single attachment is the XML itself,
// named after source's base name. It checks that the XML reads as an
// e-invoice and returns the document together with the error when it
// does not (ErrMalformed, ErrUnknownSyntax, ErrTooLarge), as the PDF
// parser returns what it could read.
func Document(data []byte, source string) (pipeline.Document, error) {
	sum := sha256.Sum256(data)
	id := hex.EncodeToString(sum[:])
	name := pathpkg.Base(strings.ReplaceAll(source, "\\", "/"))
	if source == "" || name == "." || name == "/" {
		name = "invoice.xml"
	}
	doc := pipeline.Document{ID: id, Source: source, Size: int64(len(data)), Parser: ParserVersion, Pages: []pipeline.Page{}}
	a := pipeline.Attachment{Name: name, MIMEType: "application/xml", Size: int64(len(data)), SHA256: id}
	if len(data) > MaxXMLBytes {
		a.Omitted = fmt.Sprintf("larger than %d bytes", MaxXMLBytes)
		doc.Attachments = []pipeline.Attachment{a}
		return doc, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), MaxXMLBytes)
	}
	a.Data = data
	doc.Attachments = []pipeline.Attachment{a}
	if _, err := Read(data); err != nil {
		return doc, err
	}
	return doc, nil
}

// IsXML reports whether a file's first bytes look like XML: the check a
// caller makes to route a file to Document rather than the PDF parser.
func IsXML(head []byte) bool {
	d := bytes.TrimLeft(bytes.TrimPrefix(head, []byte{0xEF, 0xBB, 0xBF}), " \t\r\n")
	if bytes.HasPrefix(head, []byte{0xFE, 0xFF}) || bytes.HasPrefix(head, []byte{0xFF, 0xFE}) {
		return true
	}
	return bytes.HasPrefix(d, []byte("<?xml")) || (bytes.HasPrefix(d, []byte("<")) && !bytes.HasPrefix(d, []byte("<<")))
}
