package store

import (
	"regexp"
	"slices"
	"strings"
)

var (
	filterRe   = regexp.MustCompile(`^([a-z][a-z0-9_]*)\s*(>=|<=|~|=)\s*(.*)$`)
	documentRe = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ParseFilters reads filters as users write them (the CLI's --filter, the
// API's "filters"): NAME=VALUE, NAME~TEXT, NAME=FROM..TO, NAME>=N,
// NAME<=N, document=ID[,ID...], schema=NAME. Errors wrap ErrInvalid.
// Values are never written into SQL: the store passes them as parameters.
func ParseFilters(args []string) (Filter, error) {
	var f Filter
	for _, a := range args {
		m := filterRe.FindStringSubmatch(strings.TrimSpace(a))
		if m == nil {
			return f, invalid("filter %q: want NAME=VALUE, NAME~TEXT, NAME=FROM..TO, NAME>=N or NAME<=N (NAME in lower case)", a)
		}
		name, op, value := m[1], m[2], strings.TrimSpace(m[3])
		if value == "" {
			return f, invalid("filter %q: no value", a)
		}
		switch {
		case name == "document" || name == "document_id":
			if op != "=" {
				return f, invalid("filter %q: documents are chosen with document=ID", a)
			}
			for _, id := range strings.Split(value, ",") {
				id = strings.ToLower(strings.TrimSpace(id))
				if !documentRe.MatchString(id) {
					return f, invalid("filter %q: a document id is the 64 hex digits of its SHA-256 (as 'search -o json' prints it)", a)
				}
				f.DocumentIDs = append(f.DocumentIDs, id)
			}
		case name == "schema":
			if op != "=" {
				return f, invalid("filter %q: the schema is chosen with schema=NAME", a)
			}
			if f.Schema != "" && f.Schema != value {
				return f, invalid("filter %q: one schema at a time (already %q)", a, f.Schema)
			}
			f.Schema = value
		case op == ">=" || op == "<=":
			ff := FieldFilter{Name: name, Op: GreaterOrEqual, Value: value}
			if op == "<=" {
				ff.Op = LessOrEqual
			}
			f.Fields = append(f.Fields, ff)
		case op == "~":
			f.Fields = append(f.Fields, FieldFilter{Name: name, Op: Contains, Value: value})
		case strings.Contains(value, ".."):
			from, to, _ := strings.Cut(value, "..")
			f.Fields = append(f.Fields, FieldFilter{Name: name, Op: Between, From: strings.TrimSpace(from), To: strings.TrimSpace(to)})
		default:
			f.Fields = append(f.Fields, FieldFilter{Name: name, Op: Equals, Value: value})
		}
	}
	return f, nil
}

// CheckFields refuses filters on fields not among known (the fields that
// exist: a typo would otherwise just match nothing), naming those that do.
func (f Filter) CheckFields(known []string) error {
	for _, ff := range f.Fields {
		if !slices.Contains(known, ff.Name) {
			k := slices.Clone(known)
			slices.Sort(k)
			return invalid("filter on %q: no such field; the fields are %s", ff.Name, strings.Join(k, ", "))
		}
	}
	return nil
}
