package main

import (
	"context"
	"strings"

	"github.com/extractor-dev/extractor/history"
)

// webHistory is the diff and lineage pages' History: the history package
// over the state directory and the database, printed as 'extractor diff'
// and 'extractor lineage' print.
type webHistory struct{ h history.History }

// missing: the history package's errors are pipeline's kinds (not
// found, invalid), which the server maps to statuses as they are.
func missing(err error) error { return err }

func (w webHistory) Diff(ctx context.Context, a, b string) (string, error) {
	var runs [2]*history.Run
	for i, part := range []string{a, b} {
		var err error
		if runs[i], err = w.h.Open(ctx, part); err != nil {
			return "", missing(err)
		}
	}
	var out strings.Builder
	err := writeDiff(&out, history.Diff(runs[0], runs[1]))
	return out.String(), err
}

func (w webHistory) Lineage(ctx context.Context, docID, field, run string) (string, error) {
	p, err := history.ParseFieldPath(field)
	if err != nil {
		return "", err
	}
	r, line, err := w.h.Find(ctx, run, docID)
	if err != nil {
		return "", missing(err)
	}
	rep, err := w.h.Lineage(ctx, r, line, p)
	if err != nil {
		return "", missing(err)
	}
	var out strings.Builder
	err = writeLineage(&out, rep)
	return out.String(), err
}
