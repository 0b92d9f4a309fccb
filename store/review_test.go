package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/extractor-dev/extractor/pipeline"
)

// reviewLine is a finished result line of an invoice: vendor and total,
// issues and a document confidence as given.
func reviewLine(run, doc, vendor, total string, conf float64, issues ...pipeline.Issue) pipeline.ResultLine {
	return pipeline.ResultLine{RunID: run, DocumentID: doc, File: doc + ".pdf", Status: "ok", Schema: pipeline.SchemaRef{Name: "invoice", Version: "1"},
		Extractor: pipeline.ExtractorRef{Kind: "rules"},
		Fields: map[string]pipeline.Field{
			"vendor_name":  {Value: vendor, Raw: vendor, Evidence: pipeline.Evidence{Page: 1, Quote: vendor}, Grounded: true, Confidence: 0.9},
			"total_amount": {Value: total, Raw: total, Evidence: pipeline.Evidence{Page: 1, Quote: "Total " + total}, Grounded: true, Confidence: 0.9},
		},
		Lists:      map[string][]pipeline.Item{"line_items": {}},
		Issues:     issues,
		Confidence: conf, Version: 1}
}

func failIssue(field, code string) pipeline.Issue {
	return pipeline.Issue{Field: field, Code: code, Severity: pipeline.SeverityFail, Message: code}
}

func saveLines(t *testing.T, s *Store, lines ...pipeline.ResultLine) {
	t.Helper()
	for _, l := range lines {
		if err := s.SaveResult(context.Background(), l); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReviewStateFollowsResults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	a := docID("a")
	saveLines(t, s, reviewLine("r1", a, "ACME", "191.00", 0.6, failIssue("total_amount", pipeline.IssueArithmetic)))
	st, err := s.ReviewState(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != 1 || st.State != ReviewPending || !slices.Equal(st.Reasons, []string{"failed_check", "low_confidence"}) || st.QueuedAt == nil ||
		st.Vendor != "ACME" || st.Current == nil || st.Current.Fields["total_amount"].Value != "191.00" || st.Schema != "invoice" || st.RunID != "r1" {
		t.Fatalf("state %+v", st)
	}
	queued := *st.QueuedAt

	// Another run that read it the same way: the version stays (nobody's
	// edit breaks), the run moves.
	saveLines(t, s, reviewLine("r2", a, "ACME", "191.00", 0.6, failIssue("total_amount", pipeline.IssueArithmetic)))
	if st, _ = s.ReviewState(ctx, a); st.Version != 1 || st.RunID != "r2" {
		t.Errorf("same reading: version %d run %s", st.Version, st.RunID)
	}
	// A run that read it otherwise: a new version, new current values
	// (no corrections yet), the first queue entry kept.
	saveLines(t, s, reviewLine("r3", a, "ACME Corp", "119.00", 0.95))
	if st, _ = s.ReviewState(ctx, a); st.Version != 2 || len(st.Reasons) != 0 || st.Vendor != "ACME Corp" ||
		st.Current.Fields["total_amount"].Value != "119.00" || !st.QueuedAt.Equal(queued) {
		t.Errorf("new reading: %+v", st)
	}

	// A file that could not be read: keyed by its name's hash.
	failed := pipeline.ResultLine{RunID: "r1", File: "broken.pdf", Status: "failed", Error: "malformed", Schema: pipeline.SchemaRef{Name: "invoice"}}
	// An interrupted document is not finished: no review state.
	interrupted := reviewLine("r1", docID("b"), "B", "1.00", 0.9)
	interrupted.Status = "interrupted"
	saveLines(t, s, failed, interrupted)
	if st, err := s.ReviewState(ctx, failed.Key()); err != nil || st.Status != "failed" || !slices.Equal(st.Reasons, []string{"parse_failure"}) || st.Error != "malformed" {
		t.Errorf("failed: %+v %v", st, err)
	}
	if _, err := s.ReviewState(ctx, docID("b")); !errors.Is(err, ErrNotFound) {
		t.Errorf("interrupted: %v", err)
	}
}

func TestCorrectionsAndDecisions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	a := docID("a")
	saveLines(t, s, reviewLine("r1", a, "Address", "191.00", 0.6, failIssue("vendor_name", pipeline.IssueImplausible)))
	st, _ := s.ReviewState(ctx, a)

	cur := *st.Current
	cur.Fields = map[string]pipeline.Field{"vendor_name": {Value: "ACME GmbH", Raw: "ACME GmbH", Confidence: 1}, "total_amount": cur.Fields["total_amount"]}
	first := []pipeline.Correction{
		{Op: "set", Field: "vendor_name", Before: ptr(st.Current.Fields["vendor_name"]), After: ptr(cur.Fields["vendor_name"]),
			Reason: "a label", By: "alice", KeyID: "k1", Box: &pipeline.Box{X0: 1, Y0: 2, X1: 3, Y1: 4}},
		{Op: "add", Field: "line_items", Item: &pipeline.Item{Fields: map[string]pipeline.Field{"amount": {Value: "1.00"}}}, By: "alice", KeyID: "k1"},
	}
	if _, err := s.SaveCorrections(ctx, a, st.Version+1, first, cur); !errors.Is(err, ErrStale) || !errors.Is(err, pipeline.ErrConflict) {
		t.Errorf("a version from the future: %v", err)
	}
	if _, err := s.SaveCorrections(ctx, docID("nope"), 1, first, cur); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown document: %v", err)
	}
	saved, err := s.SaveCorrections(ctx, a, st.Version, first, cur)
	if err != nil {
		t.Fatal(err)
	}
	if len(saved) != 2 || saved[0].Seq != 1 || saved[1].Seq != 2 || saved[0].Version != 2 || saved[0].ID == 0 || saved[0].At.IsZero() {
		t.Errorf("saved %+v", saved)
	}
	// The same version again is stale: nothing is saved twice.
	if _, err := s.SaveCorrections(ctx, a, st.Version, first, cur); !errors.Is(err, ErrStale) {
		t.Errorf("saved twice: %v", err)
	}
	cur2 := cur
	cur2.Fields = map[string]pipeline.Field{"vendor_name": cur.Fields["vendor_name"], "total_amount": {Value: "119.00", Confidence: 1}}
	if _, err := s.SaveCorrections(ctx, a, 2, []pipeline.Correction{{Op: "set", Field: "total_amount", After: ptr(cur2.Fields["total_amount"]), By: "bob", KeyID: "k2"}}, cur2); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Corrections(ctx, a)
	if err != nil || len(cs) != 3 || cs[2].Seq != 3 || cs[2].Version != 3 || cs[2].By != "bob" || cs[0].Box == nil || cs[0].Box.X1 != 3 ||
		cs[0].Before.Value != "Address" || cs[1].Item.Fields["amount"].Value != "1.00" || cs[1].Before != nil || cs[2].Before != nil {
		t.Fatalf("corrections %+v %v", cs, err)
	}
	st, _ = s.ReviewState(ctx, a)
	if st.Version != 3 || st.Corrections != 3 || st.Vendor != "ACME GmbH" || st.Current.Fields["total_amount"].Value != "119.00" {
		t.Errorf("state %+v", st)
	}

	// Approve, with a hook in the same transaction; a hook that fails
	// takes the decision with it.
	hookErr := errors.New("webhook queue down")
	if _, err := s.Decide(ctx, a, 3, pipeline.Decision{Decision: "approved", By: "carol", KeyID: "k3"}, *st.Current,
		func(context.Context, pgx.Tx, pipeline.Decision) error { return hookErr }); !errors.Is(err, hookErr) {
		t.Fatalf("hook error: %v", err)
	}
	var hooked pipeline.Decision
	d, err := s.Decide(ctx, a, 3, pipeline.Decision{Decision: "approved", Reason: "checked against the PO", By: "carol", KeyID: "k3"}, *st.Current,
		func(_ context.Context, _ pgx.Tx, d pipeline.Decision) error { hooked = d; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if d.ID == 0 || d.Version != 4 || d.Corrections != 3 || !slices.Equal(d.CorrectedFields, []string{"line_items", "total_amount", "vendor_name"}) ||
		d.Schema != "invoice" || d.QueuedAt.IsZero() || d.At.Before(d.QueuedAt) || hooked.ID != d.ID {
		t.Errorf("decision %+v (hook saw %+v)", d, hooked)
	}
	if _, err := s.Decide(ctx, a, 3, pipeline.Decision{Decision: "approved"}, *st.Current, nil); !errors.Is(err, ErrStale) {
		t.Errorf("approved twice at one version: %v", err)
	}
	if _, err := s.Decide(ctx, a, 4, pipeline.Decision{Decision: "maybe"}, *st.Current, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("a decision that is none: %v", err)
	}
	approved, err := s.ApprovedDocuments(ctx, time.Time{}, "")
	if err != nil || len(approved) != 1 || approved[0].Version != 4 || approved[0].ApprovedBy != "carol" || approved[0].Values.Fields["vendor_name"].Value != "ACME GmbH" {
		t.Fatalf("approved %+v %v", approved, err)
	}
	if got, _ := s.ApprovedDocuments(ctx, time.Now().Add(time.Hour), ""); len(got) != 0 {
		t.Errorf("approved since later: %+v", got)
	}
	if got, _ := s.ApprovedDocuments(ctx, time.Time{}, "nda"); len(got) != 0 {
		t.Errorf("approved of another schema: %+v", got)
	}

	// A correction after the approval: pending again, out of the export
	// and the metrics until decided again; a rejection then.
	if _, err := s.SaveCorrections(ctx, a, 4, []pipeline.Correction{{Op: "set", Field: "total_amount", After: ptr(pipeline.Field{Value: "120.00"}), By: "bob"}}, cur2); err != nil {
		t.Fatal(err)
	}
	if st, _ = s.ReviewState(ctx, a); st.State != ReviewPending {
		t.Errorf("state after a later correction: %s", st.State)
	}
	if got, _ := s.ApprovedDocuments(ctx, time.Time{}, ""); len(got) != 0 {
		t.Errorf("approved after a later correction: %+v", got)
	}
	if _, err := s.Decide(ctx, a, 5, pipeline.Decision{Decision: "rejected", Reason: "duplicate", By: "carol"}, *st.Current, nil); err != nil {
		t.Fatal(err)
	}
	decisions, err := s.Decisions(ctx, a)
	if err != nil || len(decisions) != 2 || decisions[0].Decision != "approved" || decisions[1].Decision != "rejected" || decisions[1].Corrections != 4 {
		t.Errorf("decisions %+v %v", decisions, err)
	}
	latest, err := s.LatestDecisions(ctx, time.Time{}, "invoice")
	if err != nil || len(latest) != 1 || latest[0].Decision != "rejected" || latest[0].Reason != "duplicate" {
		t.Errorf("latest decisions %+v %v", latest, err)
	}

	// A newer extraction after corrections: the current values are to be
	// replayed (nil), and kept by SetCurrent at that version only.
	saveLines(t, s, reviewLine("r2", a, "ACME", "119.00", 0.9))
	st, _ = s.ReviewState(ctx, a)
	if st.Current != nil || st.Version != 7 || st.State != ReviewRejected || st.Vendor != "ACME GmbH" {
		t.Fatalf("after a newer extraction: %+v", st)
	}
	replayed := st.Extraction
	replayed.Fields["vendor_name"] = pipeline.Field{Value: "ACME GmbH (replayed)"}
	if err := s.SetCurrent(ctx, a, 6, replayed); err != nil {
		t.Fatal(err)
	}
	if st, _ = s.ReviewState(ctx, a); st.Current != nil {
		t.Error("SetCurrent at an old version kept the values")
	}
	if err := s.SetCurrent(ctx, a, 7, replayed); err != nil {
		t.Fatal(err)
	}
	if st, _ = s.ReviewState(ctx, a); st.Current == nil || st.Vendor != "ACME GmbH (replayed)" || st.Version != 7 {
		t.Errorf("after SetCurrent: %+v", st)
	}
}

func ptr[T any](v T) *T { return &v }

// Reviewers saving corrections on one document at once, each from the
// version it read: each version is won once; nothing is lost or saved
// twice.
func TestConcurrentCorrections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	a := docID("a")
	saveLines(t, s, reviewLine("r1", a, "ACME", "1.00", 0.5))
	const reviewers, tries = 8, 10
	var mu sync.Mutex
	won, lost := 0, 0
	var wg sync.WaitGroup
	for r := range reviewers {
		wg.Go(func() {
			for i := range tries {
				st, err := s.ReviewState(ctx, a)
				if err != nil {
					t.Error(err)
					return
				}
				c := pipeline.Correction{Op: "set", Field: "total_amount", After: ptr(pipeline.Field{Value: fmt.Sprintf("%d.%02d", r, i)}), By: fmt.Sprint(r)}
				_, err = s.SaveCorrections(ctx, a, st.Version, []pipeline.Correction{c, c}, *st.Current)
				mu.Lock()
				switch {
				case err == nil:
					won++
				case errors.Is(err, ErrStale):
					lost++
				default:
					t.Error(err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	cs, err := s.Corrections(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := s.ReviewState(ctx, a)
	if won+lost != reviewers*tries || won == 0 || len(cs) != 2*won || st.Corrections != 2*won || st.Version != 1+won {
		t.Fatalf("won %d lost %d: %d corrections, state %d corrections at version %d", won, lost, len(cs), st.Corrections, st.Version)
	}
	for i, c := range cs {
		if c.Seq != i+1 || c.Version != 2+i/2 {
			t.Errorf("correction %d: seq %d version %d", i, c.Seq, c.Version)
		}
	}
	t.Logf("%d reviewers x %d tries: %d saved, %d stale", reviewers, tries, won, lost)
}

func TestReviewQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testStore(t)
	var lines []pipeline.ResultLine
	for i := range 30 {
		var issues []pipeline.Issue
		conf := 0.95
		switch i % 5 {
		case 0:
			issues = append(issues, failIssue("total_amount", pipeline.IssueArithmetic))
		case 1:
			issues = append(issues, failIssue("vendor_name", pipeline.IssueUngrounded))
		case 2:
			conf = 0.5
		case 3:
			issues = append(issues, pipeline.Issue{Field: "iban", Code: pipeline.IssueEInvoiceMismatch, Severity: pipeline.SeverityWarn})
		case 4: // clean: not in the queue
		}
		run := "r1"
		if i >= 20 {
			run = "r2"
		}
		l := reviewLine(run, docID(fmt.Sprint(i)), []string{"ACME GmbH", "Müller_50% AG", "Globex"}[i%3], "1.00", conf, issues...)
		if i == 28 {
			l.Schema.Name = "nda"
		}
		lines = append(lines, l)
	}
	lines = append(lines, pipeline.ResultLine{RunID: "r2", File: "locked.pdf", Status: "failed", Error: "encrypted", Schema: pipeline.SchemaRef{Name: "invoice"}})
	saveLines(t, s, lines...)

	all, err := s.ReviewQueue(ctx, pipeline.QueueQuery{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"failed_check": 6, "ungrounded": 6, "low_confidence": 6, "einvoice_mismatch": 6, "parse_failure": 1}
	if all.Total != 25 || len(all.Items) != 25 || all.Next != "" || fmt.Sprint(all.Counts) != fmt.Sprint(want) {
		t.Fatalf("queue: total %d, %d items, counts %v", all.Total, len(all.Items), all.Counts)
	}
	// Newest result first.
	if all.Items[0].File != "locked.pdf" || all.Items[1].DocumentID != docID("28") || all.Items[0].Reasons[0] != "parse_failure" {
		t.Errorf("first items %+v %+v", all.Items[0], all.Items[1])
	}
	if it := all.Items[1]; it.Values["vendor_name"] != "Müller_50% AG" || it.Values["total_amount"] != "1.00" || it.Version != 1 || it.Schema != "nda" {
		t.Errorf("item %+v", it)
	}
	for _, tt := range []struct {
		name   string
		q      pipeline.QueueQuery
		total  int
		counts map[string]int
	}{
		{"by reason", pipeline.QueueQuery{Reason: "ungrounded"}, 6, want},
		{"by schema", pipeline.QueueQuery{Schema: "nda"}, 1, map[string]int{"failed_check": 0, "ungrounded": 0, "low_confidence": 0, "einvoice_mismatch": 1, "parse_failure": 0}},
		{"by vendor, in part and any case", pipeline.QueueQuery{Vendor: "acme"}, 8, nil},
		{"a vendor's % and _ are letters", pipeline.QueueQuery{Vendor: "r_50%"}, 8, nil},
		{"by run", pipeline.QueueQuery{Run: "r2"}, 9, nil},
		{"by run and reason", pipeline.QueueQuery{Run: "r2", Reason: "parse_failure"}, 1, nil},
		{"nothing", pipeline.QueueQuery{Vendor: "Initech"}, 0, map[string]int{"failed_check": 0, "ungrounded": 0, "low_confidence": 0, "einvoice_mismatch": 0, "parse_failure": 0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s.ReviewQueue(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != tt.total || len(p.Items) != tt.total {
				t.Errorf("total %d, %d items; want %d", p.Total, len(p.Items), tt.total)
			}
			if tt.counts != nil && fmt.Sprint(p.Counts) != fmt.Sprint(tt.counts) {
				t.Errorf("counts %v, want %v", p.Counts, tt.counts)
			}
			for _, it := range p.Items {
				if tt.q.Reason != "" && !slices.Contains(it.Reasons, tt.q.Reason) {
					t.Errorf("%s lacks reason %s", it.DocumentID, tt.q.Reason)
				}
			}
		})
	}

	// Pages of 7 cover the queue once, in order.
	var paged []string
	q := pipeline.QueueQuery{Limit: 7}
	for range 10 {
		p, err := s.ReviewQueue(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			paged = append(paged, it.DocumentID)
		}
		if p.Next == "" {
			break
		}
		q.After = p.Next
	}
	var whole []string
	for _, it := range all.Items {
		whole = append(whole, it.DocumentID)
	}
	if !slices.Equal(paged, whole) {
		t.Errorf("paged %d items, not the queue's %d in order", len(paged), len(whole))
	}

	// A decided document leaves the queue.
	st, _ := s.ReviewState(ctx, docID("0"))
	if _, err := s.Decide(ctx, st.DocumentID, st.Version, pipeline.Decision{Decision: "approved"}, *st.Current, nil); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.ReviewQueue(ctx, pipeline.QueueQuery{}); p.Total != 24 || p.Counts["failed_check"] != 5 {
		t.Errorf("after a decision: total %d counts %v", p.Total, p.Counts)
	}
	for _, bad := range []pipeline.QueueQuery{{Reason: "ocr"}, {After: "not-a-cursor"}} {
		if _, err := s.ReviewQueue(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// The migration gives the documents that had results before it the review
// state SaveResult would give them.
func TestReviewMigrationBackfill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := migrator(ctx, conn.Conn())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.MigrateTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	conn.Release()
	lines := []pipeline.ResultLine{
		reviewLine("r1", docID("a"), "ACME", "191.00", 0.6, failIssue("total_amount", pipeline.IssueArithmetic), failIssue("iban", pipeline.IssueUngrounded)),
		reviewLine("r2", docID("a"), "ACME", "119.00", 0.97), // the latest
		reviewLine("r1", docID("b"), "B", "1.00", 0, pipeline.Issue{Field: "iban", Code: pipeline.IssueEInvoiceMismatch, Severity: pipeline.SeverityWarn}),
		reviewLine("r1", docID("c"), "C", "1.00", 0.5, failIssue("vendor_name", pipeline.IssueImplausible)),
		{RunID: "r1", File: "x.pdf", Status: "failed", Error: "encrypted", Schema: pipeline.SchemaRef{Name: "invoice"}},
	}
	for i, l := range lines {
		line, _ := json.Marshal(l)
		if _, err := pool.Exec(ctx, `INSERT INTO results (run_id, document_id, file, status, trace_id, line, created_at) VALUES ($1, $2, $3, $4, '', $5, $6)`,
			l.RunID, l.Key(), l.File, l.Status, line, time.Now().Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	s := New(pool, Config{})
	for _, l := range lines[1:] {
		st, err := s.ReviewState(ctx, l.Key())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(st.Reasons, l.ReviewReasons()) || st.RunID != l.RunID || st.Version != 1 || (st.QueuedAt != nil) != (len(st.Reasons) > 0) {
			t.Errorf("%s: reasons %v (Go says %v), run %s, queued %v", l.File, st.Reasons, l.ReviewReasons(), st.RunID, st.QueuedAt)
		}
		if l.Status == "ok" && (st.Current == nil || st.Current.Fields["total_amount"].Value != l.Fields["total_amount"].Value ||
			st.Current.Lists["line_items"] == nil || st.Vendor != l.Fields["vendor_name"].Value || st.Current.Confidence != l.Confidence) {
			t.Errorf("%s: current %+v", l.File, st.Current)
		}
	}
}
