package server

// The review queue, the metrics and export page, and the search page:
// the same interfaces as the API's GET /v1/review/queue,
// /v1/review/metrics, /v1/exports/approved and POST /v1/search.

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/extractor-dev/extractor/pipeline"
)

// reasonTitles name the review reasons for people.
var reasonTitles = map[string]string{
	pipeline.ReasonFailedCheck:      "failed check",
	pipeline.ReasonUngrounded:       "ungrounded",
	pipeline.ReasonLowConfidence:    "low confidence",
	pipeline.ReasonEInvoiceMismatch: "e-invoice mismatch",
	pipeline.ReasonParseFailure:     "parse failure",
}

type reasonCount struct {
	Reason, Title, Href string
	Count               int
	Active              bool
}

type queueRow struct {
	DocumentID, File, Schema, Vendor, RunID string
	Reasons                                 []reasonCount
	Confidence                              string
	Corrections, Version                    int
	Queued                                  string
	Href                                    string
}

type queuePage struct {
	Query    pipeline.QueueQuery
	Reasons  []reasonCount
	AllHref  string
	Total    int
	Rows     []queueRow
	NextHref string
	Self     string
}

func (s *Server) getQueuePage(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	qq := pipeline.QueueQuery{Reason: q.Get("reason"), Schema: strings.TrimSpace(q.Get("schema")), Vendor: strings.TrimSpace(q.Get("vendor")),
		Run: strings.TrimSpace(q.Get("run")), After: q.Get("after"), Limit: 50}
	if qq.Reason != "" && !pipeline.IsReviewReason(qq.Reason) {
		return fmt.Errorf("%w: reason %q: want one of %s", ErrInvalid, pipeline.Printable(qq.Reason, 40), strings.Join(pipeline.ReviewReasons, ", "))
	}
	if len(qq.Vendor) > 200 || len(qq.Schema) > 200 || len(qq.Run) > 200 || len(qq.After) > 500 {
		return fmt.Errorf("%w: a filter is too long", ErrInvalid)
	}
	page, err := s.cfg.Queue.Queue(r.Context(), qq)
	if err != nil {
		return err
	}
	link := func(reason, after string) string {
		v := url.Values{}
		for k, x := range map[string]string{"reason": reason, "schema": qq.Schema, "vendor": qq.Vendor, "run": qq.Run, "after": after} {
			if x != "" {
				v.Set(k, x)
			}
		}
		if len(v) == 0 {
			return "/ui/review"
		}
		return "/ui/review?" + v.Encode()
	}
	v := queuePage{Query: qq, Total: page.Total, AllHref: link("", ""), Self: link(qq.Reason, qq.After)}
	for _, reason := range pipeline.ReviewReasons {
		v.Reasons = append(v.Reasons, reasonCount{Reason: reason, Title: reasonTitles[reason], Count: page.Counts[reason],
			Href: link(reason, ""), Active: reason == qq.Reason})
	}
	for _, it := range page.Items {
		row := queueRow{DocumentID: it.DocumentID, File: baseName(it.File), Schema: it.Schema, Vendor: it.Vendor, RunID: it.RunID,
			Confidence: confidenceText(it.Confidence), Corrections: it.Corrections, Version: it.Version,
			Href: "/ui/documents/" + url.PathEscape(it.DocumentID)}
		if it.QueuedAt != nil {
			row.Queued = formatTime(*it.QueuedAt)
		} else {
			row.Queued = formatTime(it.ResultAt)
		}
		for _, reason := range it.Reasons {
			row.Reasons = append(row.Reasons, reasonCount{Reason: reason, Title: reasonTitles[reason]})
		}
		v.Rows = append(v.Rows, row)
	}
	if page.Next != "" {
		v.NextHref = link(qq.Reason, page.Next)
	}
	return s.render(w, r, http.StatusOK, "queue", layout{Title: "Review queue", Active: "review", User: p.display(), Data: v})
}

// --- metrics and exports ----------------------------------------------------

type metricsPage struct {
	M            ReviewMetrics
	Touchless    string
	P50, P90     string
	Fields       []fieldRateView
	Weeks        []weekView
	Pending      []reasonCount
	CSV, JSONL   string
	Schema       string
	Since        string
	HasDecisions bool
}

type fieldRateView struct {
	Field               string
	Corrected, Approved int
	Rate                string
	Bar                 int // percent, for the bar's width class
}

type weekView struct {
	Week, Start                              string
	Decided, Approved, Rejected, Touchless   int
	TouchlessRate, Corrections, TimeToReview string
}

func percent(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }

func seconds(s float64) string {
	switch {
	case s <= 0:
		return "—"
	case s < 90:
		return strconv.FormatFloat(s, 'f', 0, 64) + " s"
	case s < 5400:
		return strconv.FormatFloat(s/60, 'f', 1, 64) + " min"
	case s < 3*86400:
		return strconv.FormatFloat(s/3600, 'f', 1, 64) + " h"
	}
	return strconv.FormatFloat(s/86400, 'f', 1, 64) + " days"
}

func (s *Server) getMetricsPage(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	mq := MetricsQuery{Schema: strings.TrimSpace(q.Get("schema"))}
	var err error
	if mq.Since, err = parseSince(strings.TrimSpace(q.Get("since"))); err != nil {
		return err
	}
	m, err := s.cfg.Records.Metrics(r.Context(), mq)
	if err != nil {
		return err
	}
	v := metricsPage{M: m, Touchless: percent(m.TouchlessRate), P50: seconds(m.TimeToReview.P50), P90: seconds(m.TimeToReview.P90),
		Schema: mq.Schema, Since: strings.TrimSpace(q.Get("since")), HasDecisions: m.Decided > 0}
	for _, f := range m.Fields {
		v.Fields = append(v.Fields, fieldRateView{Field: f.Field, Corrected: f.Corrected, Approved: f.Approved, Rate: percent(f.Rate),
			Bar: int(f.Rate*20+0.5) * 5})
	}
	for _, wk := range m.Weeks {
		v.Weeks = append(v.Weeks, weekView{Week: wk.Week, Start: wk.Start, Decided: wk.Decided, Approved: wk.Approved, Rejected: wk.Rejected,
			Touchless: wk.Touchless, TouchlessRate: percent(wk.TouchlessRate), Corrections: strconv.Itoa(wk.Corrections),
			TimeToReview: seconds(wk.TimeToReview.P50)})
	}
	for _, reason := range pipeline.ReviewReasons {
		v.Pending = append(v.Pending, reasonCount{Reason: reason, Title: reasonTitles[reason], Count: m.PendingByReason[reason],
			Href: "/ui/review?reason=" + reason})
	}
	exp := func(format string) string {
		x := url.Values{"format": {format}}
		if mq.Schema != "" {
			x.Set("schema", mq.Schema)
		}
		if v.Since != "" {
			x.Set("since", v.Since)
		}
		return "/ui/exports/approved?" + x.Encode()
	}
	v.CSV, v.JSONL = exp("csv"), exp("jsonl")
	return s.render(w, r, http.StatusOK, "metrics", layout{Title: "Review metrics", Active: "metrics", User: p.display(), Data: v})
}

// getExportPage downloads the approved documents (the API's export, with
// the login cookie).
func (s *Server) getExportPage(w http.ResponseWriter, r *http.Request, p Principal) error {
	return s.getExport(w, r, p)
}

// --- search -----------------------------------------------------------------

type searchPage struct {
	Query, Mode, Filters string
	K                    int
	Searched             bool
	Hits                 []searchHitView
	Modes                []string
}

type searchHitView struct {
	SearchHit
	File, Href, Score string
	Lines             string // 1-based, as the document page numbers them
}

func (s *Server) getSearchPage(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	v := searchPage{Query: strings.TrimSpace(q.Get("q")), Mode: q.Get("mode"), Filters: strings.TrimSpace(q.Get("filters")), K: 20,
		Modes: []string{"hybrid", "text", "vector"}}
	if v.Mode == "" {
		v.Mode = "hybrid"
	}
	if len(v.Query) > 2000 || len(v.Filters) > 4000 {
		return fmt.Errorf("%w: the query is too long", ErrInvalid)
	}
	if v.Query != "" || v.Filters != "" {
		req := SearchRequest{Query: v.Query, K: v.K, Mode: v.Mode}
		for _, f := range strings.Split(v.Filters, "\n") {
			if f = strings.TrimSpace(f); f != "" {
				req.Filters = append(req.Filters, f)
			}
		}
		res, err := s.cfg.Catalog.Search(r.Context(), req)
		if err != nil {
			return err
		}
		v.Searched = true
		for _, h := range res.Hits {
			v.Hits = append(v.Hits, searchHitView{SearchHit: h, File: baseName(h.Source), Score: strconv.FormatFloat(h.Score, 'f', 4, 64),
				Lines: fmt.Sprintf("%d–%d", h.FirstLine+1, h.LastLine+1),
				Href:  "/ui/documents/" + url.PathEscape(h.DocumentID) + "#" + lineID(h.Page, h.FirstLine+1)})
		}
	}
	return s.render(w, r, http.StatusOK, "search", layout{Title: "Search", Active: "search", User: p.display(), Data: v})
}

// confidenceText is a document confidence for the queue: "—" when none
// was estimated (an LLM's documents carry no calibrated estimate), not a
// 0.00 that reads as "surely wrong".
func confidenceText(c float64) string {
	if c <= 0 {
		return "—"
	}
	return strconv.FormatFloat(c, 'f', 2, 64)
}
