package review

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/extractor-dev/extractor/pipeline"
)

// Metrics are the business measures of the review loop, from what people
// decided in production (not from an eval's labels).
type Metrics struct {
	// Decided counts the documents decided (each by its latest decision).
	Decided  int `json:"decided"`
	Approved int `json:"approved"`
	Rejected int `json:"rejected"`
	// Touchless counts the documents approved with no correction;
	// TouchlessRate is their share of the approved (0 when none was).
	Touchless     int     `json:"touchless"`
	TouchlessRate float64 `json:"touchless_rate"`
	// Fields is, per field, how often people corrected it in approved
	// documents: most corrected first.
	Fields []FieldRate `json:"fields"`
	// TimeToReview is the time from a document's entry into the review
	// queue to its decision.
	TimeToReview Durations `json:"time_to_review"`
	// Weeks are the same measures per ISO week of the decision, oldest
	// first.
	Weeks []Week `json:"weeks"`
}

// FieldRate is how often a field was corrected in approved documents.
type FieldRate struct {
	Field string `json:"field"`
	// Corrected counts the approved documents in which the field was
	// corrected; Approved the approved documents.
	Corrected int     `json:"corrected"`
	Approved  int     `json:"approved"`
	Rate      float64 `json:"rate"`
}

// Durations summarize durations, in seconds.
type Durations struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_seconds"`
	P90  float64 `json:"p90_seconds"`
	Mean float64 `json:"mean_seconds"`
}

// Week is one ISO week's measures.
type Week struct {
	// Week is the ISO week ("2026-W03"); Start its Monday.
	Week          string    `json:"week"`
	Start         string    `json:"start"`
	Decided       int       `json:"decided"`
	Approved      int       `json:"approved"`
	Rejected      int       `json:"rejected"`
	Touchless     int       `json:"touchless"`
	TouchlessRate float64   `json:"touchless_rate"`
	Corrections   int       `json:"corrections"`
	TimeToReview  Durations `json:"time_to_review"`
}

// Measure computes the metrics from each document's latest decision.
// fields are the fields to report even when never corrected (a schema's);
// every field corrected is reported too.
func Measure(decisions []pipeline.Decision, fields []string) Metrics {
	m := Metrics{Fields: []FieldRate{}, Weeks: []Week{}}
	corrected := map[string]int{}
	var waits []time.Duration
	weeks := map[string]*Week{}
	weekWaits := map[string][]time.Duration{}
	for _, d := range decisions {
		m.Decided++
		y, wn := d.At.UTC().ISOWeek()
		key := fmt.Sprintf("%04d-W%02d", y, wn)
		w := weeks[key]
		if w == nil {
			w = &Week{Week: key, Start: isoWeekStart(y, wn).Format(time.DateOnly)}
			weeks[key] = w
		}
		w.Decided++
		w.Corrections += d.Corrections
		if d.Decision == pipeline.DecisionApproved {
			m.Approved++
			w.Approved++
			if d.Corrections == 0 {
				m.Touchless++
				w.Touchless++
			}
			for _, f := range d.CorrectedFields {
				corrected[f]++
			}
		} else {
			m.Rejected++
			w.Rejected++
		}
		if !d.QueuedAt.IsZero() && !d.At.Before(d.QueuedAt) {
			waits = append(waits, d.At.Sub(d.QueuedAt))
			weekWaits[key] = append(weekWaits[key], d.At.Sub(d.QueuedAt))
		}
	}
	m.TouchlessRate = rate(m.Touchless, m.Approved)
	for _, f := range fields {
		if _, ok := corrected[f]; !ok {
			corrected[f] = 0
		}
	}
	for f, n := range corrected {
		m.Fields = append(m.Fields, FieldRate{Field: f, Corrected: n, Approved: m.Approved, Rate: rate(n, m.Approved)})
	}
	slices.SortFunc(m.Fields, func(a, b FieldRate) int {
		return cmp.Or(cmp.Compare(b.Corrected, a.Corrected), cmp.Compare(a.Field, b.Field))
	})
	m.TimeToReview = summarize(waits)
	for _, w := range weeks {
		w.TouchlessRate = rate(w.Touchless, w.Approved)
		w.TimeToReview = summarize(weekWaits[w.Week])
		m.Weeks = append(m.Weeks, *w)
	}
	slices.SortFunc(m.Weeks, func(a, b Week) int { return cmp.Compare(a.Week, b.Week) })
	return m
}

func rate(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return math.Round(float64(n)/float64(of)*10000) / 10000
}

// summarize gives the nearest-rank percentiles and the mean.
func summarize(ds []time.Duration) Durations {
	if len(ds) == 0 {
		return Durations{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	pct := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))].Seconds()
	}
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Durations{N: len(s), P50: pct(0.5), P90: pct(0.9), Mean: math.Round((sum/time.Duration(len(s))).Seconds()*1000) / 1000}
}

// isoWeekStart is the Monday of an ISO week.
func isoWeekStart(year, week int) time.Time {
	// January 4th is always in week 1.
	jan4 := time.Date(year, 1, 4, 0, 0, 0, 0, time.UTC)
	monday := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
	return monday.AddDate(0, 0, 7*(week-1))
}
