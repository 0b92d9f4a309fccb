package pdf

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	lpdf "github.com/ledongthuc/pdf"

	"github.com/extractor-dev/extractor/pipeline"
)

// Limits on the files a PDF carries. An e-invoice XML is tens of
// kilobytes; these keep a hostile or bloated file from filling memory
// (and the JSON that carries a document back from an isolated child).
const (
	// MaxAttachmentBytes is the most decoded bytes kept of one attachment.
	MaxAttachmentBytes = 16 << 20
	// MaxAttachmentsBytes is the most decoded bytes kept of all of a
	// document's attachments together.
	MaxAttachmentsBytes = 32 << 20
	maxAttachments      = 64
	maxNameTreeDepth    = 16
	maxNameTreeNodes    = 4096
	maxXMPBytes         = 4 << 20
)

// addAttachments lists the files the PDF carries on doc (the catalog's
// /AF associated files, then the /Names /EmbeddedFiles name tree) and
// reads the Factur-X / ZUGFeRD keys of the XMP metadata into doc.Meta.
// data is the file as it was opened (with a rebuilt cross-reference table
// when it needed one). Nothing here fails the parse: a file that cannot be
// read becomes a warning, a file too large to keep is listed without its
// bytes.
func addAttachments(ctx context.Context, doc *pipeline.Document, v view, enc encryption, opts Options) {
	defer func() {
		if x := recover(); x != nil {
			if a, ok := x.(abort); ok {
				doc.Warnings = append(doc.Warnings, "attachments not listed: "+a.Error())
				return
			}
			doc.Warnings = append(doc.Warnings, "attachments not listed: "+untrusted(x))
		}
	}()
	d, err := open(ctx, v, enc, opts.Password) // through preflight, as the parse
	if err != nil {
		doc.Warnings = append(doc.Warnings, "attachments not listed: "+err.Error())
		return
	}
	lr := d.r
	e := &embedded{d: d, seen: map[string]int{}, budget: MaxAttachmentsBytes}
	root := lr.Trailer().Key("Root")
	e.safely("the associated files (/AF)", func() {
		af := root.Key("AF")
		afRefs := refs(af.String())
		for i := 0; i < af.Len() && !e.capped; i++ {
			e.add(af.Index(i), afRefs[fmt.Sprint(i)], "", true)
		}
	})
	e.safely("the embedded files (/EmbeddedFiles)", func() {
		names := root.Key("Names")
		tree := names.Key("EmbeddedFiles")
		if tree.Kind() != lpdf.Dict {
			return
		}
		visited := map[string]bool{}
		if ref := refs(names.String())["EmbeddedFiles"]; ref != "" {
			visited[ref] = true
		}
		e.nameTree(tree, 0, visited)
	})
	e.safely("the XMP metadata", func() {
		md := root.Key("Metadata")
		if md.Kind() != lpdf.Stream {
			return
		}
		xmp, err := e.d.readStream(md, maxXMPBytes)
		if err != nil {
			e.warn("XMP metadata not read: %v", err)
			return
		}
		for k, v := range invoiceXMP(xmp) {
			if doc.Meta == nil {
				doc.Meta = map[string]string{}
			}
			doc.Meta[k] = v
		}
	})
	doc.Attachments = append(doc.Attachments, e.out...)
	doc.Warnings = append(doc.Warnings, e.warnings...)
}

// embedded collects the attachments of one document.
type embedded struct {
	d        *docParser
	out      []pipeline.Attachment
	seen     map[string]int // file specification object -> index in out
	nodes    int
	budget   int // decoded bytes that may still be kept
	warnings []string
	capped   bool
}

func (e *embedded) warn(format string, args ...any) {
	e.warnings = append(e.warnings, fmt.Sprintf(format, args...))
}

// safely runs f, turning a library panic into a warning about what.
// Aborts (deadline, cancellation) go on up.
func (e *embedded) safely(what string, f func()) {
	defer func() {
		if x := recover(); x != nil {
			if a, ok := x.(abort); ok {
				panic(a)
			}
			e.warn("%s not read: %v", what, x)
		}
	}()
	f()
}

// nameTree walks a name tree node: its /Names pairs and its /Kids, each
// node once, to a bounded depth and size.
func (e *embedded) nameTree(n lpdf.Value, depth int, visited map[string]bool) {
	if depth > maxNameTreeDepth {
		e.warn("the embedded files name tree is deeper than %d levels; the rest was not read", maxNameTreeDepth)
		return
	}
	if e.nodes++; e.nodes > maxNameTreeNodes {
		if e.nodes == maxNameTreeNodes+1 {
			e.warn("the embedded files name tree has more than %d nodes; the rest was not read", maxNameTreeNodes)
		}
		return
	}
	if err := e.d.ctx.Err(); err != nil {
		panic(abort{err})
	}
	names := n.Key("Names")
	nameRefs := refs(names.String())
	for j := 0; j+1 < names.Len() && !e.capped; j += 2 {
		key := cleanText(names.Index(j).Text())
		e.safely(fmt.Sprintf("embedded file %q", key), func() {
			e.add(names.Index(j+1), nameRefs[fmt.Sprint(j+1)], key, false)
		})
	}
	kids := n.Key("Kids")
	kidRefs := refs(kids.String())
	for i := 0; i < kids.Len() && !e.capped && e.nodes <= maxNameTreeNodes; i++ {
		ref := kidRefs[fmt.Sprint(i)]
		if ref != "" {
			if visited[ref] {
				e.warn("the embedded files name tree refers back to object %s", ref)
				continue
			}
			visited[ref] = true
		}
		kid := kids.Index(i)
		if kid.Kind() == lpdf.Dict {
			e.nameTree(kid, depth+1, visited)
		}
	}
}

// add lists the file specification spec (object ref, or "" when it is
// direct), named key in the name tree.
func (e *embedded) add(spec lpdf.Value, ref, key string, associated bool) {
	if ref != "" {
		if i, ok := e.seen[ref]; ok {
			e.out[i].Associated = e.out[i].Associated || associated
			return
		}
	}
	if spec.Kind() != lpdf.Dict {
		return // a dangling reference, or a URL file specification string
	}
	if len(e.out) >= maxAttachments {
		if !e.capped {
			e.capped = true
			e.warn("more than %d attachments; the rest are not listed", maxAttachments)
		}
		return
	}
	a := pipeline.Attachment{
		Name:         cleanText(spec.Key("UF").Text()),
		Description:  cleanText(spec.Key("Desc").Text()),
		Relationship: spec.Key("AFRelationship").Name(),
		Associated:   associated,
	}
	if a.Name == "" {
		a.Name = cleanText(spec.Key("F").Text())
	}
	if a.Name == "" {
		a.Name = key
	}
	if a.Name == "" {
		a.Name = fmt.Sprintf("attachment-%d", len(e.out)+1)
	}
	e.read(&a, spec)
	// The same file may sit in two file specifications (one in /AF, a
	// copy in the name tree): list it once.
	for i, o := range e.out {
		if a.SHA256 != "" && o.SHA256 == a.SHA256 && o.Name == a.Name {
			e.out[i].Associated = o.Associated || associated
			if ref != "" {
				e.seen[ref] = i
			}
			e.budget += len(a.Data)
			return
		}
	}
	if ref != "" {
		e.seen[ref] = len(e.out)
	}
	e.out = append(e.out, a)
}

// read reads the attachment's embedded file stream within the budgets.
func (e *embedded) read(a *pipeline.Attachment, spec lpdf.Value) {
	defer func() {
		if x := recover(); x != nil {
			if ab, ok := x.(abort); ok {
				panic(ab)
			}
			a.Omitted = fmt.Sprintf("unreadable: %v", x)
			e.warn("attachment %s: %s", a.Name, a.Omitted)
		}
	}()
	ef := spec.Key("EF")
	st := ef.Key("F")
	if st.Kind() != lpdf.Stream {
		st = ef.Key("UF")
	}
	if st.Kind() != lpdf.Stream {
		a.Omitted = "no embedded file stream"
		e.warn("attachment %s: %s", a.Name, a.Omitted)
		return
	}
	a.MIMEType = st.Key("Subtype").Name()
	declared := st.Key("Params").Key("Size").Int64()
	a.Size = max(declared, 0)
	limit := min(MaxAttachmentBytes, e.budget)
	if declared > int64(limit) {
		a.Omitted = tooLarge(limit)
		e.warn("attachment %s: %s (%d bytes declared)", a.Name, a.Omitted, declared)
		return
	}
	data, err := e.d.readStream(st, limit)
	switch {
	case errors.Is(err, ErrTooLarge):
		a.Omitted = tooLarge(limit)
		e.warn("attachment %s: %s", a.Name, a.Omitted)
		return
	case err != nil && len(data) == 0:
		a.Omitted = "unreadable: " + strings.TrimPrefix(err.Error(), ErrMalformed.Error()+": ")
		e.warn("attachment %s: %s", a.Name, a.Omitted)
		return
	case err != nil:
		// A truncated or damaged stream: keep what was decoded, and say so.
		e.warn("attachment %s: reading its stream failed after %d bytes (%v); they may be incomplete", a.Name, len(data), err)
	}
	e.budget -= len(data)
	sum := sha256.Sum256(data)
	a.Data = append([]byte{}, data...) // never nil once read, so "read, empty" differs from "not read"
	a.Size, a.SHA256 = int64(len(data)), hex.EncodeToString(sum[:])
}

func tooLarge(limit int) string {
	if limit < MaxAttachmentBytes {
		return fmt.Sprintf("not kept: the document's attachments exceed %d bytes together", MaxAttachmentsBytes)
	}
	return fmt.Sprintf("not kept: larger than %d bytes", MaxAttachmentBytes)
}

// xmpKeys maps the local names of the Factur-X / ZUGFeRD XMP extension
// schema's properties to Document.Meta keys.
var xmpKeys = map[string]string{
	"ConformanceLevel": pipeline.MetaEInvoiceConformanceLevel,
	"DocumentType":     pipeline.MetaEInvoiceDocumentType,
	"DocumentFileName": pipeline.MetaEInvoiceDocumentFileName,
	"Version":          pipeline.MetaEInvoiceVersion,
}

// xmpSchema names the e-invoice extension schema of an XMP namespace, or
// "" for other namespaces: Factur-X ("urn:factur-x:pdfa:
// CrossIndustryDocument:invoice:1p0#"), ZUGFeRD 1.0 ("urn:ferd:pdfa:...")
// and 2.x ("urn:zugferd:pdfa:...").
func xmpSchema(ns string) string {
	l := strings.ToLower(ns)
	switch {
	case !strings.Contains(l, "crossindustrydocument"):
		return ""
	case strings.Contains(l, "factur-x"):
		return "Factur-X"
	case strings.Contains(l, "zugferd"), strings.HasPrefix(l, "urn:ferd:"):
		return "ZUGFeRD"
	}
	return ns
}

// invoiceXMP reads the e-invoice properties from an XMP packet, written
// as elements (<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>) or as
// attributes of rdf:Description (fx:ConformanceLevel="BASIC"). The first
// value of each property wins.
func invoiceXMP(data []byte) map[string]string {
	out := map[string]string{}
	set := func(ns, local, v string) {
		k, ok := xmpKeys[local]
		schema := xmpSchema(ns)
		v = strings.TrimSpace(v)
		if !ok || schema == "" || v == "" || out[k] != "" {
			return
		}
		out[k] = v
		if out[pipeline.MetaEInvoiceSchema] == "" {
			out[pipeline.MetaEInvoiceSchema] = schema
		}
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = false
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var cur *xml.Name
	var text strings.Builder
	for depth := 0; ; {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth++; depth > 64 {
				return out
			}
			for _, a := range t.Attr {
				set(a.Name.Space, a.Name.Local, a.Value)
			}
			name := t.Name
			cur = &name
			text.Reset()
		case xml.CharData:
			if cur != nil && text.Len() < 4096 {
				text.Write(t)
			}
		case xml.EndElement:
			depth--
			if cur != nil && *cur == t.Name {
				set(t.Name.Space, t.Name.Local, text.String())
			}
			cur = nil
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
