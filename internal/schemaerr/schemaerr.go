// Package schemaerr flattens a JSON Schema validation error
// (santhosh-tekuri/jsonschema) into its leaves, each with the JSON pointer
// of the value it is about, in a fixed order: the one wording shared by
// the LLM extractor's re-asks and the HTTP API's problem details.
package schemaerr

import (
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Leaf is one thing wrong: where (a JSON pointer, "" for the document)
// and what.
type Leaf struct {
	Pointer string
	Detail  string
}

// Leaves returns the leaves of ve, sorted by pointer, then detail.
func Leaves(ve *jsonschema.ValidationError) []Leaf {
	var out []Leaf
	p := message.NewPrinter(language.English)
	escape := strings.NewReplacer("~", "~0", "/", "~1")
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			var ptr strings.Builder
			for _, tok := range e.InstanceLocation {
				ptr.WriteByte('/')
				ptr.WriteString(escape.Replace(tok))
			}
			out = append(out, Leaf{Pointer: ptr.String(), Detail: e.ErrorKind.LocalizedString(p)})
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pointer != out[j].Pointer {
			return out[i].Pointer < out[j].Pointer
		}
		return out[i].Detail < out[j].Detail
	})
	return out
}
