package einvoice

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Limits on the XML read. E-invoices are small (tens of kilobytes; an
// EXTENDED invoice with thousands of lines a few megabytes), so these only
// stop hostile input.
const (
	// MaxXMLBytes refuses larger XML with ErrTooLarge.
	MaxXMLBytes = 32 << 20
	maxDepth    = 128
	maxNodes    = 2_000_000
)

// node is an element of the parsed XML: what the mapping needs (local
// name, namespace, attributes, text) and nothing else.
type node struct {
	space, local string
	attrs        []xml.Attr
	text         string // the element's own character data, trimmed
	kids         []*node
}

// attr returns the value of the attribute with the given local name.
func (n *node) attr(local string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// child returns the first child with the given local name.
func (n *node) child(local string) *node {
	for _, k := range n.kids {
		if k.local == local {
			return k
		}
	}
	return nil
}

// parsed is an XML document read by parseXML.
type parsed struct {
	root *node
	// warnings name what had to be forgiven (an invalid encoding label,
	// a byte order mark).
	warnings []string
	// clean is the document as UTF-8 with a declaration the standard
	// decoder accepts, for readers that are less forgiving (speedata's).
	clean []byte
}

var declRe = regexp.MustCompile(`^<\?xml[^>]*?\?>`)
var encodingRe = regexp.MustCompile(`encoding\s*=\s*["']([^"']*)["']`)

// parseXML reads data into a tree. It accepts what real e-invoices carry
// beyond the standard: a byte order mark (UTF-8 or UTF-16), an encoding
// label that is a misspelt UTF-8 ("UTF-8-W/O-BOM", "utf8"), and Latin-1 or
// Windows-1252 labels; each repair is a warning. It returns ErrTooLarge
// over the limits and ErrMalformed when the XML is not well-formed.
func parseXML(data []byte) (*parsed, error) {
	if len(data) > MaxXMLBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), MaxXMLBytes)
	}
	p := &parsed{}
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		data = data[3:]
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}), bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		u, _, err := transform.Bytes(unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewDecoder(), data)
		if err != nil {
			return nil, fmt.Errorf("%w: UTF-16: %v", ErrMalformed, err)
		}
		data = u
		p.warnings = append(p.warnings, "the XML is UTF-16; read as such")
	}
	// Leading whitespace before the declaration is an error for the
	// standard; several generators write a newline there.
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) != len(data) && bytes.HasPrefix(t, []byte("<?xml")) {
		data = t
	}
	data, err := p.fixDeclaration(data)
	if err != nil {
		return nil, err
	}
	p.clean = data
	root, err := buildTree(data)
	if err != nil {
		return nil, err
	}
	p.root = root
	return p, nil
}

// fixDeclaration rewrites the encoding of the XML declaration so that the
// standard decoder reads the document, converting Latin-1 and Windows-1252
// to UTF-8.
func (p *parsed) fixDeclaration(data []byte) ([]byte, error) {
	decl := declRe.Find(data)
	if decl == nil {
		return data, nil
	}
	m := encodingRe.FindSubmatchIndex(decl)
	if m == nil {
		return data, nil
	}
	label := string(decl[m[2]:m[3]])
	norm := strings.ToLower(strings.NewReplacer("-", "", "_", "", " ", "").Replace(label))
	var body []byte
	switch {
	case strings.EqualFold(label, "utf-8"):
		return data, nil
	case norm == "utf8" || norm == "usascii" || norm == "ascii":
		// ASCII is UTF-8; "utf8" and "UTF_8" are what was meant.
		if norm == "utf8" {
			p.warnings = append(p.warnings, fmt.Sprintf("the XML declares encoding %q; read as UTF-8", label))
		}
		body = data[len(decl):]
	case strings.HasPrefix(norm, "utf8"): // "UTF-8-W/O-BOM", "utf8bom"
		p.warnings = append(p.warnings, fmt.Sprintf("the XML declares the invalid encoding %q; read as UTF-8", label))
		body = data[len(decl):]
	case norm == "iso88591" || norm == "latin1" || norm == "windows1252" || norm == "cp1252" || norm == "iso885915":
		cm := charmap.Windows1252 // a superset of Latin-1's printable range
		if norm == "iso885915" {
			cm = charmap.ISO8859_15
		}
		u, _, err := transform.Bytes(cm.NewDecoder(), data[len(decl):])
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, label, err)
		}
		body = u
	case norm == "utf16":
		// Converted from its byte order mark above; the label stays true
		// only for the original bytes.
		body = data[len(decl):]
	default:
		return nil, fmt.Errorf("%w: unsupported encoding %q", ErrMalformed, label)
	}
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: the XML is not valid UTF-8", ErrMalformed)
	}
	fixed := make([]byte, 0, len(body)+len(decl))
	fixed = append(fixed, decl[:m[2]]...)
	fixed = append(fixed, "UTF-8"...)
	fixed = append(fixed, decl[m[3]:]...)
	return append(fixed, body...), nil
}

// buildTree decodes data (UTF-8) into a tree of elements, bounded in
// depth and element count.
func buildTree(data []byte) (*node, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("unsupported encoding %q", label)
	}
	var stack []*node
	var root *node
	count := 0
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, syntaxError(dec, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, fmt.Errorf("%w: line %d: a second root element <%s>", ErrMalformed, line(dec), t.Name.Local)
			}
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("%w: elements nested deeper than %d", ErrTooLarge, maxDepth)
			}
			if count++; count > maxNodes {
				return nil, fmt.Errorf("%w: more than %d elements", ErrTooLarge, maxNodes)
			}
			n := &node{space: t.Name.Space, local: t.Name.Local, attrs: t.Attr}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.kids = append(parent.kids, n)
			} else {
				root = n
			}
			stack = append(stack, n)
			text.Reset()
		case xml.EndElement:
			n := stack[len(stack)-1]
			if len(n.kids) == 0 {
				n.text = strings.TrimSpace(text.String())
			}
			text.Reset()
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 && text.Len() < MaxXMLBytes {
				text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	return root, nil
}

func line(dec *xml.Decoder) int {
	l, _ := dec.InputPos()
	return l
}

func syntaxError(dec *xml.Decoder, err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: line %d: %s", ErrMalformed, se.Line, se.Msg)
	}
	return fmt.Errorf("%w: line %d: %v", ErrMalformed, line(dec), err)
}
