package server

// The diff of two runs and the lineage of one value, as 'extractor diff'
// and 'extractor lineage' print them (the history package reads both; the
// implementation of History prints them the CLI's way, so the page and
// the terminal say the same).

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// History explains outputs. Diff compares two runs (any unique part of
// their ids); Lineage follows one field of a document upstream, in a run
// ("" for the latest that has the document). Both fail with ErrNotFound
// for what does not exist and ErrInvalid for a bad field path.
type History interface {
	Diff(ctx context.Context, runA, runB string) (string, error)
	Lineage(ctx context.Context, documentID, field, run string) (string, error)
}

type diffPage struct {
	A, B  string
	Runs  []runView
	Text  string
	Error string
}

func (s *Server) getDiffPage(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	v := diffPage{A: strings.TrimSpace(q.Get("a")), B: strings.TrimSpace(q.Get("b"))}
	runs, err := s.cfg.Review.Runs(r.Context(), 100)
	if err != nil {
		return err
	}
	for _, run := range runs {
		v.Runs = append(v.Runs, runOf(run))
	}
	if v.A == "" && v.B == "" && len(runs) >= 2 {
		// The two latest runs, older first.
		v.A, v.B = runs[1].ID, runs[0].ID
	}
	if v.A != "" && v.B != "" {
		if len(v.A) > 200 || len(v.B) > 200 {
			return ErrInvalid
		}
		if v.Text, err = s.cfg.History.Diff(r.Context(), v.A, v.B); err != nil {
			ev := s.viewError(r, err)
			if ev.Status >= 500 {
				return err
			}
			v.Error = ev.Detail
		}
	}
	return s.render(w, r, http.StatusOK, "diff", layout{Title: "Diff of two runs", Active: "runs", User: p.display(), Data: v})
}

type lineagePage struct {
	ID, Field, Run, Back string
	Text                 string
}

func (s *Server) getLineagePage(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	v := lineagePage{ID: r.PathValue("id"), Field: strings.TrimSpace(q.Get("field")), Run: strings.TrimSpace(q.Get("run"))}
	v.Back = "/ui/documents/" + url.PathEscape(v.ID)
	if v.Field == "" || len(v.Field) > 200 || len(v.Run) > 200 {
		return ErrInvalid
	}
	text, err := s.cfg.History.Lineage(r.Context(), v.ID, v.Field, v.Run)
	if err != nil {
		return err
	}
	v.Text = text
	return s.render(w, r, http.StatusOK, "lineage", layout{Title: "Lineage of " + v.Field, Active: "review", User: p.display(), Data: v})
}
