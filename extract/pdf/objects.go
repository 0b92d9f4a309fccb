package pdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	lpdf "github.com/ledongthuc/pdf"
)

// Limits that protect against hostile files; options set the document-wide
// ones (size, pages, time).
const (
	maxContentStream = 64 << 20 // decoded bytes of one page's content
	maxFontStream    = 16 << 20 // decoded bytes of one font program or CMap
	maxFormDepth     = 12       // nested form XObjects
	maxTreeDepth     = 64       // nested page tree nodes
	maxTreeNodes     = 1 << 20  // page tree nodes in all
	maxOps           = 20_000_000
	formCacheBytes   = 32 << 20
)

// abort is panicked from inside library calls (through the guarded reader)
// to stop work that must not continue: cancellation or an exceeded limit.
// It is recovered at the top of Parse.
type abort struct{ err error }

func (a abort) Error() string { return a.err.Error() }
func (a abort) Unwrap() error { return a.err }

// guardedReader is the io.ReaderAt the library reads through. Every read
// checks the context, so a library loop that keeps reading (a /Prev chain
// that points back at itself, an object stream that extends itself) is
// stopped at the deadline instead of spinning forever.
type guardedReader struct {
	ctx  context.Context
	data []byte
	// header, when set, is what the first read sees at offset 0: the
	// library's first read is its header check, which accepts only
	// "%PDF-1.0" to "%PDF-1.7", and viewOf has already decided the file
	// is a PDF. Later reads see the file's own bytes, so a file without
	// a header whose first object starts at offset 0 still reads.
	header []byte
	reads  int
}

func (g *guardedReader) ReadAt(p []byte, off int64) (int, error) {
	if err := g.ctx.Err(); err != nil {
		panic(abort{err})
	}
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	first := g.reads == 0
	g.reads++
	if off >= int64(len(g.data)) {
		return 0, io.EOF
	}
	n := copy(p, g.data[off:])
	if first && off < int64(len(g.header)) {
		n = max(n, copy(p, g.header[off:]))
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// docParser holds the per-document state: the library reader, caches keyed
// by object identity, and budgets.
type docParser struct {
	ctx       context.Context
	r         *lpdf.Reader
	fonts     map[string]*font
	encodings map[string]*[256]string
	gidText   map[string]map[uint16]string
	forms     map[string][]byte
	formBytes int
	ops       int
	// size is the file's length, which bounds what its numbers may ask
	// the library to allocate.
	size int
}

// checkStreamParms refuses a stream whose predictor would make the library
// allocate rows beyond what the file justifies (see preflight): its
// /DecodeParms may be an indirect object preflight cannot see.
func checkStreamParms(v lpdf.Value, size int) error {
	p := v.Key("DecodeParms")
	parms := []lpdf.Value{p}
	if p.Kind() == lpdf.Array {
		parms = parms[:0]
		for i := 0; i < p.Len(); i++ {
			parms = append(parms, p.Index(i))
		}
	}
	for _, p := range parms {
		if c := p.Key("Columns"); c.Kind() == lpdf.Integer && (c.Int64() < 0 || c.Int64() > maxColumns(size)) {
			return fmt.Errorf("%w: stream /DecodeParms /Columns %d is beyond what a %d-byte file justifies", ErrMalformed, c.Int64(), size)
		}
	}
	return nil
}

// readStream returns a stream's decoded bytes, up to limit. A decoding
// error after some data (a bad checksum at the end of a deflate stream, a
// truncated file) returns the data read so far together with the error, so
// callers can keep what is usable.
func (d *docParser) readStream(v lpdf.Value, limit int) (data []byte, err error) {
	defer func() {
		if x := recover(); x != nil {
			if a, ok := x.(abort); ok {
				panic(a)
			}
			err = fmt.Errorf("%w: stream: %s", ErrMalformed, untrusted(x))
		}
	}()
	if v.Kind() != lpdf.Stream {
		return nil, fmt.Errorf("%w: not a stream", ErrMalformed)
	}
	if err := checkStreamParms(v, d.size); err != nil {
		return nil, err
	}
	rc := v.Reader()
	defer rc.Close()
	var buf bytes.Buffer
	_, err = io.Copy(&buf, io.LimitReader(rc, int64(limit)+1))
	if buf.Len() > limit {
		return buf.Bytes()[:limit], fmt.Errorf("%w: stream larger than %d bytes", ErrTooLarge, limit)
	}
	return buf.Bytes(), err
}

// refs reads the indirect references of a dictionary or array from the
// library's textual form ("<</F1 5 0 R /F2 7 0 R>>", "[3 0 R 4 0 R]")
// without resolving them. Resolving an object that lives in an object
// stream re-inflates the whole stream, so identity by reference is what
// makes per-object caches cheap. Only top-level entries are returned; keys
// are names for dictionaries and "0", "1", ... for arrays.
func refs(s string) map[string]string {
	out := map[string]string{}
	depth := 0
	i := 0
	idx := 0
	isArray := strings.HasPrefix(s, "[")
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"': // quoted string: skip, honouring escapes
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' {
					i++
				}
				i++
			}
			i++
			if isArray && depth == 1 {
				idx++
			}
		case strings.HasPrefix(s[i:], "<<"):
			depth++
			i += 2
		case strings.HasPrefix(s[i:], ">>"):
			depth--
			i += 2
			if isArray && depth == 1 { // a nested dictionary was one element
				idx++
			}
		case c == '[':
			depth++
			i++
		case c == ']':
			depth--
			i++
			if isArray && depth == 1 { // a nested array was one element
				idx++
			}
		case c == '/' && depth == 1 && !isArray:
			j := i + 1
			for j < len(s) && s[j] != ' ' && s[j] != '>' && s[j] != '/' && s[j] != '[' && s[j] != '<' {
				j++
			}
			key := s[i+1 : j]
			if ref, n := readRef(s[j:]); n > 0 {
				out[key] = ref
				i = j + n
				continue
			}
			i = j
		case depth == 1 && isArray && c != ' ':
			if ref, n := readRef(s[i:]); n > 0 {
				out[fmt.Sprint(idx)] = ref
				idx++
				i += n
				continue
			}
			// some other element: skip one token
			for i < len(s) && s[i] != ' ' && s[i] != ']' {
				i++
			}
			idx++
		default:
			i++
		}
	}
	return out
}

// readRef parses " 12 0 R" at the start of s (leading space optional) and
// returns "12 0" and the bytes consumed.
func readRef(s string) (string, int) {
	i := 0
	for i < len(s) && s[i] == ' ' {
		i++
	}
	start := i
	digits := func() bool {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > j
	}
	if !digits() || i >= len(s) || s[i] != ' ' {
		return "", 0
	}
	i++
	if !digits() || !strings.HasPrefix(s[i:], " R") {
		return "", 0
	}
	ref := s[start:i]
	i += 2
	if i < len(s) && s[i] != ' ' && s[i] != ']' && s[i] != '>' {
		return "", 0
	}
	return ref, i
}

// pageNode is a leaf of the page tree with its inherited attributes.
type pageNode struct {
	v         lpdf.Value
	resources lpdf.Value
	mediaBox  lpdf.Value
	cropBox   lpdf.Value
	rotate    int64
	hasRotate bool
}

// pageTree walks the page tree once, in order, carrying inherited
// attributes down. It refuses cycles (a Kids entry that refers to a node
// already on the path or already visited) and absurd depths, which would
// otherwise make the library loop forever.
func (d *docParser) pageTree(maxPages int) ([]pageNode, error) {
	root := d.r.Trailer().Key("Root")
	rootRefs := refs(root.String())
	pages := root.Key("Pages")
	if pages.Kind() != lpdf.Dict {
		return nil, fmt.Errorf("%w: document has no page tree", ErrMalformed)
	}
	visited := map[string]bool{}
	if ref, ok := rootRefs["Pages"]; ok {
		visited[ref] = true
	}
	var out []pageNode
	nodes := 0
	var walk func(v lpdf.Value, inh pageNode, depth int) error
	walk = func(v lpdf.Value, inh pageNode, depth int) error {
		if depth > maxTreeDepth {
			return fmt.Errorf("%w: page tree deeper than %d levels (cycle?)", ErrMalformed, maxTreeDepth)
		}
		if err := d.ctx.Err(); err != nil {
			return err
		}
		if nodes++; nodes > maxTreeNodes {
			return fmt.Errorf("%w: page tree has more than %d nodes", ErrMalformed, maxTreeNodes)
		}
		if r := v.Key("Resources"); !r.IsNull() {
			inh.resources = r
		}
		if m := v.Key("MediaBox"); !m.IsNull() {
			inh.mediaBox = m
		}
		if c := v.Key("CropBox"); !c.IsNull() {
			inh.cropBox = c
		}
		if r := v.Key("Rotate"); r.Kind() == lpdf.Integer || r.Kind() == lpdf.Real {
			inh.rotate, inh.hasRotate = int64(r.Float64()), true
		}
		kids := v.Key("Kids")
		typ := v.Key("Type").Name()
		if typ == "Page" || (typ != "Pages" && kids.Kind() != lpdf.Array) {
			if maxPages > 0 && len(out) >= maxPages {
				return fmt.Errorf("%w: more than %d pages", ErrTooLarge, maxPages)
			}
			inh.v = v
			out = append(out, inh)
			return nil
		}
		kidRefs := refs(kids.String())
		for i := 0; i < kids.Len(); i++ {
			kid := kids.Index(i)
			if kid.Kind() != lpdf.Dict {
				continue // a dangling or broken kid loses one page, not the document
			}
			// An intermediate node seen before means a cycle; a leaf page
			// listed twice is merely odd and is kept.
			if ref, ok := kidRefs[fmt.Sprint(i)]; ok && kid.Key("Kids").Kind() == lpdf.Array {
				if visited[ref] {
					return fmt.Errorf("%w: page tree refers back to object %s", ErrMalformed, ref)
				}
				visited[ref] = true
			}
			if err := walk(kid, inh, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(pages, pageNode{}, 0); err != nil {
		return nil, err
	}
	return out, nil
}
