package review

import (
	"testing"
	"time"

	"github.com/extractor-dev/extractor/pipeline"
)

func TestMeasure(t *testing.T) {
	// Thursday 2026-01-15 is in ISO week 3; Monday 2026-01-19 in week 4.
	wk3 := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	wk4 := time.Date(2026, 1, 19, 9, 0, 0, 0, time.UTC)
	dec := func(at time.Time, wait time.Duration, decision string, fields ...string) pipeline.Decision {
		return pipeline.Decision{Decision: decision, At: at, QueuedAt: at.Add(-wait), Corrections: len(fields), CorrectedFields: fields}
	}
	tests := []struct {
		name  string
		in    []pipeline.Decision
		check func(t *testing.T, m Metrics)
	}{
		{"none", nil, func(t *testing.T, m Metrics) {
			if m.Decided != 0 || m.TouchlessRate != 0 || len(m.Fields) != 2 || m.Fields[0].Rate != 0 || m.TimeToReview.N != 0 || len(m.Weeks) != 0 {
				t.Errorf("%+v", m)
			}
		}},
		{"two weeks", []pipeline.Decision{
			dec(wk3, time.Minute, pipeline.DecisionApproved),
			dec(wk3.Add(time.Hour), 3*time.Minute, pipeline.DecisionApproved, "total_amount"),
			dec(wk3.Add(2*time.Hour), 2*time.Minute, pipeline.DecisionRejected),
			dec(wk4, 10*time.Minute, pipeline.DecisionApproved, "line_items", "total_amount"),
			dec(wk4.Add(time.Hour), 5*time.Minute, pipeline.DecisionApproved),
			{Decision: pipeline.DecisionApproved, At: wk4}, // queued when? unknown: no time to review
		}, func(t *testing.T, m Metrics) {
			if m.Decided != 6 || m.Approved != 5 || m.Rejected != 1 || m.Touchless != 3 || m.TouchlessRate != 0.6 {
				t.Errorf("counts %+v", m)
			}
			want := []FieldRate{{"total_amount", 2, 5, 0.4}, {"line_items", 1, 5, 0.2}, {"vendor_name", 0, 5, 0}}
			if len(m.Fields) != len(want) {
				t.Fatalf("fields %+v", m.Fields)
			}
			for i, w := range want {
				if m.Fields[i] != w {
					t.Errorf("field %d = %+v, want %+v", i, m.Fields[i], w)
				}
			}
			// 1, 2, 3, 5, 10 minutes.
			if tr := m.TimeToReview; tr.N != 5 || tr.P50 != 180 || tr.P90 != 600 || tr.Mean != 252 {
				t.Errorf("time to review %+v", tr)
			}
			if len(m.Weeks) != 2 {
				t.Fatalf("weeks %+v", m.Weeks)
			}
			w3, w4 := m.Weeks[0], m.Weeks[1]
			if w3.Week != "2026-W03" || w3.Start != "2026-01-12" || w3.Decided != 3 || w3.Approved != 2 || w3.Touchless != 1 ||
				w3.TouchlessRate != 0.5 || w3.Corrections != 1 || w3.TimeToReview.P50 != 120 {
				t.Errorf("week 3 %+v", w3)
			}
			if w4.Week != "2026-W04" || w4.Start != "2026-01-19" || w4.Approved != 3 || w4.Touchless != 2 || w4.TouchlessRate != 0.6667 || w4.TimeToReview.N != 2 {
				t.Errorf("week 4 %+v", w4)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, Measure(tt.in, []string{"vendor_name", "total_amount"})) })
	}
}

func TestISOWeekStart(t *testing.T) {
	for _, tt := range []struct {
		year, week int
		want       string
	}{{2026, 1, "2025-12-29"}, {2026, 3, "2026-01-12"}, {2020, 53, "2020-12-28"}, {2021, 1, "2021-01-04"}} {
		if got := isoWeekStart(tt.year, tt.week).Format(time.DateOnly); got != tt.want {
			t.Errorf("isoWeekStart(%d, %d) = %s, want %s", tt.year, tt.week, got, tt.want)
		}
		if y, w := isoWeekStart(tt.year, tt.week).ISOWeek(); y != tt.year || w != tt.week {
			t.Errorf("isoWeekStart(%d, %d) is in %d-W%d", tt.year, tt.week, y, w)
		}
	}
}
