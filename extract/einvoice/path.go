package einvoice

import (
	"fmt"
	"strings"
)

// A path selects elements or attribute values in the tree by local names,
// whatever the namespace prefixes: "A/B/C", "A/B[@schemeID='VA']",
// "A/B[C/D='VAT']/E", "A/B[@currencyID!='EUR']", "A/B/@unitCode". Paths
// are written in the term table and compiled once; a malformed one is a
// programming error.
type path struct {
	steps []step
	// attr, when set, selects that attribute of the elements the steps
	// reach.
	attr string
}

type step struct {
	local string
	pred  *pred
}

// pred compares an attribute (attr) or the text at a relative path (rel)
// with a literal.
type pred struct {
	attr  string
	rel   []string
	value string
	not   bool
}

func mustPath(s string) path {
	p, err := parsePath(s)
	if err != nil {
		panic(fmt.Sprintf("einvoice: path %q: %v", s, err))
	}
	return p
}

func parsePath(s string) (path, error) {
	var p path
	parts := splitPath(s)
	for i, part := range parts {
		if strings.HasPrefix(part, "@") {
			if i != len(parts)-1 {
				return p, fmt.Errorf("attribute %s is not last", part)
			}
			p.attr = part[1:]
			break
		}
		st := step{local: part}
		if j := strings.IndexByte(part, '['); j >= 0 {
			if !strings.HasSuffix(part, "]") {
				return p, fmt.Errorf("unclosed predicate in %s", part)
			}
			st.local = part[:j]
			pr, err := parsePred(part[j+1 : len(part)-1])
			if err != nil {
				return p, err
			}
			st.pred = &pr
		}
		if st.local == "" {
			return p, fmt.Errorf("empty step")
		}
		p.steps = append(p.steps, st)
	}
	return p, nil
}

// splitPath splits at slashes outside predicates.
func splitPath(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
		case '/':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func parsePred(s string) (pred, error) {
	var pr pred
	op := "="
	i := strings.Index(s, "!=")
	if i >= 0 {
		op = "!="
	} else if i = strings.IndexByte(s, '='); i < 0 {
		return pr, fmt.Errorf("predicate %q has no comparison", s)
	}
	lhs, rhs := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+len(op):])
	if len(rhs) < 2 || rhs[0] != '\'' || rhs[len(rhs)-1] != '\'' {
		return pr, fmt.Errorf("predicate %q: want a quoted literal", s)
	}
	pr.value, pr.not = rhs[1:len(rhs)-1], op == "!="
	if strings.HasPrefix(lhs, "@") {
		pr.attr = lhs[1:]
	} else {
		pr.rel = strings.Split(lhs, "/")
	}
	return pr, nil
}

func (pr *pred) match(n *node) bool {
	var v string
	var ok bool
	if pr.attr != "" {
		v, ok = n.attr(pr.attr)
	} else {
		cur := n
		for _, l := range pr.rel {
			if cur = cur.child(l); cur == nil {
				break
			}
		}
		if cur != nil {
			v, ok = cur.text, true
		}
	}
	if pr.not {
		return !ok || v != pr.value
	}
	return ok && v == pr.value
}

// nodes returns the elements the path reaches from n, in document order.
func (p path) nodes(n *node) []*node {
	cur := []*node{n}
	for _, st := range p.steps {
		var next []*node
		for _, c := range cur {
			for _, k := range c.kids {
				if k.local == st.local && (st.pred == nil || st.pred.match(k)) {
					next = append(next, k)
				}
			}
		}
		if len(next) == 0 {
			return nil
		}
		cur = next
	}
	return cur
}

// hit is one value a path selects, with the element it came from.
type hit struct {
	n     *node
	value string
}

// values returns the text (or attribute) of every element the path
// reaches.
func (p path) values(n *node) []hit {
	var out []hit
	for _, e := range p.nodes(n) {
		if p.attr != "" {
			if v, ok := e.attr(p.attr); ok {
				out = append(out, hit{e, v})
			}
			continue
		}
		out = append(out, hit{e, e.text})
	}
	return out
}
