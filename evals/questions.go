package evals

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/extractor-dev/extractor/pipeline"
)

// Question templates by language: what a clerk would type to find a fact
// of one invoice. %[1]s is the invoice number, %[2]s the vendor, %[3]s a
// line item's description.
var questionTemplates = map[string]map[string]string{
	"en": {
		"total":     "What is the total amount due on invoice %[1]s from %[2]s?",
		"due_date":  "When is invoice %[1]s from %[2]s due?",
		"iban":      "Which bank account (IBAN) should %[2]s be paid to?",
		"line_item": "How much did %[2]s charge for %[3]s?",
	},
	"de": {
		"total":     "Wie hoch ist der Gesamtbetrag der Rechnung %[1]s von %[2]s?",
		"due_date":  "Bis wann ist die Rechnung %[1]s von %[2]s zu bezahlen?",
		"iban":      "Auf welches Konto (IBAN) soll an %[2]s gezahlt werden?",
		"line_item": "Was hat %[2]s für %[3]s berechnet?",
	},
	"fr": {
		"total":     "Quel est le montant total de la facture %[1]s de %[2]s ?",
		"due_date":  "Quelle est la date d'échéance de la facture %[1]s de %[2]s ?",
		"iban":      "Sur quel compte (IBAN) faut-il payer %[2]s ?",
		"line_item": "Combien %[2]s a-t-il facturé pour %[3]s ?",
	},
}

var langRe = regexp.MustCompile(`(?i)\blang (en|de|fr)\b`)

// Grounds says whether a line of a document's page prints a value of a
// type (extract.Ground answers it; evals does not import extract).
type Grounds func(doc pipeline.Document, spec pipeline.FieldSpec, value string, ev pipeline.Evidence) bool

// RetrievalQuestions derives retrieval questions from labelled invoice
// rows: for each invoice its total, due date, IBAN and first line item,
// asked in the invoice's language, with the pages the answer is printed
// on (found by grounding the labelled value against every line). Rows
// labelled with the same vendor and invoice number are renderings of one
// invoice: each question is asked once, and a hit on any of them counts.
// Questions whose answer cannot be found on any page are left out. The
// result is deterministic for a dataset.
func RetrievalQuestions(rows []Row, docs map[string]pipeline.Document, grounds Grounds) []Question {
	str := func(r Row, k string) string { s, _ := r.Expected[k].(string); return s }
	groups := map[string][]Row{}
	var keys []string
	for _, r := range rows {
		if _, ok := docs[r.ID]; !ok || r.Schema != SchemaInvoice || len(r.Expected) == 0 {
			continue
		}
		number, vendor := str(r, "invoice_number"), str(r, "vendor_name")
		if number == "" || vendor == "" {
			continue
		}
		k := strings.ToLower(vendor) + "\x00" + number
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	type ask struct {
		kind  string
		typ   pipeline.FieldType
		value func(Row) string
	}
	firstItem := func(r Row) string {
		if items, ok := r.Expected["line_items"].([]any); ok && len(items) > 0 {
			if it, ok := items[0].(map[string]any); ok {
				d, _ := it["description"].(string)
				return d
			}
		}
		return ""
	}
	asks := []ask{
		{"total", pipeline.TypeMoney, func(r Row) string { return str(r, "total_amount") }},
		{"due_date", pipeline.TypeDate, func(r Row) string { return str(r, "due_date") }},
		{"iban", pipeline.TypeIBAN, func(r Row) string { return str(r, "iban") }},
		{"line_item", pipeline.TypeString, firstItem},
	}
	var out []Question
	for _, k := range keys {
		g := groups[k]
		sort.Slice(g, func(i, j int) bool { return g[i].ID < g[j].ID })
		r := g[0]
		lang := "en"
		if m := langRe.FindStringSubmatch(r.Notes); m != nil {
			lang = strings.ToLower(m[1])
		}
		number, vendor := str(r, "invoice_number"), str(r, "vendor_name")
		for _, a := range asks {
			value := a.value(r)
			if value == "" {
				continue
			}
			var at []Location
			for _, o := range g {
				if a.value(o) != value {
					continue
				}
				doc := docs[o.ID]
				if pages := answerPages(doc, a.typ, value, grounds); len(pages) > 0 && !slices.ContainsFunc(at, func(l Location) bool { return l.DocumentID == doc.ID }) {
					at = append(at, Location{DocumentID: doc.ID, Pages: pages})
				}
			}
			if len(at) == 0 {
				continue
			}
			item := ""
			if a.kind == "line_item" {
				item = value
			}
			out = append(out, Question{
				ID:         r.ID + "-" + a.kind,
				Question:   fmt.Sprintf(questionTemplates[lang][a.kind], number, vendor, item),
				DocumentID: at[0].DocumentID, Pages: at[0].Pages, Also: at[1:], Kind: a.kind, Lang: lang,
			})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// answerPages lists the pages with a line that grounds the value.
func answerPages(doc pipeline.Document, typ pipeline.FieldType, value string, grounds Grounds) []int {
	spec := pipeline.FieldSpec{Name: "answer", Type: typ}
	var pages []int
	for _, p := range doc.Pages {
		for _, l := range p.Lines {
			if grounds(doc, spec, value, pipeline.Evidence{Page: p.Number, Quote: l.Text}) {
				pages = append(pages, p.Number)
				break
			}
		}
	}
	return pages
}
