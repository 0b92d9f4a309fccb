package main

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"go.opentelemetry.io/otel/trace"

	"github.com/extractor-dev/extractor/evals"
	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/store"
)

// retrievalKs are the k of the recall@k reported.
var retrievalKs = []int{1, 5, 10}

// evalRetrieval asks the retrieval questions of the labelled invoices
// among the eval's documents, in each search mode, and prints recall@k and
// MRR.
func (m *Main) evalRetrieval(ctx context.Context, f evalFlags, rows []evals.Row, docs map[string]pipeline.Document) (*evals.RetrievalReport, error) {
	qs := evals.RetrievalQuestions(rows, docs, grounds)
	if len(qs) == 0 {
		fmt.Fprintln(m.Stdout, "retrieval: no question could be asked (no labelled invoice with its number, vendor and an answer found on a page)")
		return nil, nil
	}
	var ids []string
	for _, d := range docs {
		ids = append(ids, d.ID)
	}
	sort.Strings(ids)
	ids = slices.Compact(ids)
	qf := queryFlags{configPath: f.configPath, state: f.state, k: slices.Max(retrievalKs)}
	q, err := m.openQuery(ctx, qf)
	if err != nil {
		return nil, err
	}
	defer q.close()
	ctx, span := q.tracer.Start(ctx, "eval_retrieval", trace.WithNewRoot())
	defer span.End()
	rep := &evals.RetrievalReport{Embedder: q.embedder.Version(), Documents: len(ids), ByKind: map[string][]evals.RetrievalScore{}}
	filter := store.Filter{DocumentIDs: ids}
	modes := []store.Mode{store.Vector, store.Text, store.Hybrid}
	ranks := map[string][]int{}
	byKind := map[string]map[string][]int{}
	for _, question := range qs {
		out := evals.RetrievalOutcome{Question: question, Ranks: map[string]int{}}
		for _, mode := range modes {
			hits, _, err := q.retrieve(ctx, question.Question, qf, mode, filter)
			if err != nil {
				return nil, fmt.Errorf("question %s (%s): %w", question.ID, mode, err)
			}
			got := make([]evals.Retrieved, len(hits))
			for i, h := range hits {
				got[i] = evals.Retrieved{DocumentID: h.DocumentID, Page: h.Page}
			}
			r := question.Rank(got)
			out.Ranks[mode.String()] = r
			ranks[mode.String()] = append(ranks[mode.String()], r)
			if byKind[question.Kind] == nil {
				byKind[question.Kind] = map[string][]int{}
			}
			byKind[question.Kind][mode.String()] = append(byKind[question.Kind][mode.String()], r)
		}
		rep.Questions = append(rep.Questions, out)
	}
	for _, mode := range modes {
		rep.Scores = append(rep.Scores, evals.ScoreRanks(mode.String(), ranks[mode.String()], retrievalKs...))
	}
	fmt.Fprintf(m.Stdout, "\nretrieval: %d questions over %d documents, embedder %s\n", len(qs), len(ids), rep.Embedder)
	fmt.Fprint(m.Stdout, evals.RetrievalTable(rep.Scores, retrievalKs))
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, kind := range kinds {
		var scores []evals.RetrievalScore
		for _, mode := range modes {
			scores = append(scores, evals.ScoreRanks(mode.String(), byKind[kind][mode.String()], retrievalKs...))
		}
		rep.ByKind[kind] = scores
		fmt.Fprintf(m.Stdout, "\n%s questions:\n%s", kind, evals.RetrievalTable(scores, retrievalKs))
	}
	return rep, nil
}

// grounds is extract.Ground as evals asks for it.
func grounds(doc pipeline.Document, spec pipeline.FieldSpec, value string, ev pipeline.Evidence) bool {
	return extract.Ground(doc, spec, value, ev).OK
}
