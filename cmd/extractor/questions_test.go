package main

import (
	"context"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/evals"
	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/internal/testenv"
	"github.com/extractor-dev/extractor/pipeline"
)

func TestRetrievalQuestions(t *testing.T) {
	ds, err := evals.Load(testenv.Testdata(t, "invoices"))
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]pipeline.Document{}
	for _, r := range ds.Rows {
		d, err := pdf.ParseFile(context.Background(), ds.Path(r), pdf.Options{})
		if err != nil {
			t.Fatal(err)
		}
		docs[r.ID] = d
	}
	qs := evals.RetrievalQuestions(ds.Rows, docs, grounds)
	kinds := map[string]int{}
	langs := map[string]int{}
	for _, q := range qs {
		kinds[q.Kind]++
		langs[q.Lang]++
		if len(q.Pages) == 0 || q.DocumentID == "" || strings.Contains(q.Question, "%!") {
			t.Errorf("question %+v", q)
		}
	}
	if len(qs) < 60 || kinds["total"] != 20 || kinds["line_item"] != 20 || langs["de"] == 0 || langs["fr"] == 0 || langs["en"] == 0 {
		t.Errorf("%d questions, kinds %v, languages %v", len(qs), kinds, langs)
	}
	// Multi-page documents: a line item of page 1 is asked on page 1, the
	// total on the last page.
	for _, q := range qs {
		if q.ID == "synth-0004-total" && (len(q.Pages) != 1 || q.Pages[0] != 2) {
			t.Errorf("synth-0004 total on pages %v, want [2]", q.Pages)
		}
		if q.ID == "synth-0004-line_item" && q.Pages[0] != 1 {
			t.Errorf("synth-0004 first line item on pages %v", q.Pages)
		}
	}
}
