package pipeline

import (
	"slices"
	"testing"
)

func TestReviewReasons(t *testing.T) {
	fail := func(code string) Issue { return Issue{Field: "x", Code: code, Severity: SeverityFail} }
	warn := func(code string) Issue { return Issue{Field: "x", Code: code, Severity: SeverityWarn} }
	for _, tt := range []struct {
		name string
		line ResultLine
		want []string
	}{
		{"clean", ResultLine{Status: "ok", Confidence: 0.93}, []string{}},
		{"no estimate", ResultLine{Status: "ok"}, []string{}},
		{"warnings only", ResultLine{Status: "ok", Issues: []Issue{warn(IssueDisagree), warn(IssueUngrounded)}}, []string{}},
		{"failed check", ResultLine{Status: "ok", Issues: []Issue{fail(IssueArithmetic)}}, []string{ReasonFailedCheck}},
		{"ungrounded", ResultLine{Status: "ok", Issues: []Issue{fail(IssueUngrounded)}}, []string{ReasonUngrounded}},
		{"low confidence", ResultLine{Status: "ok", Confidence: 0.79}, []string{ReasonLowConfidence}},
		{"at the threshold", ResultLine{Status: "ok", Confidence: ReviewBelow}, []string{}},
		{"e-invoice mismatch, a warning", ResultLine{Status: "ok", Issues: []Issue{warn(IssueEInvoiceMismatch)}}, []string{ReasonEInvoiceMismatch}},
		{"e-invoice mismatch, failed", ResultLine{Status: "ok", Issues: []Issue{fail(IssueEInvoiceMismatch)}}, []string{ReasonEInvoiceMismatch}},
		{"parse failure", ResultLine{Status: "failed", Error: "encrypted, needs password"}, []string{ReasonParseFailure}},
		{"failed with issues and a low estimate", ResultLine{Status: "failed", Confidence: 0.2, Issues: []Issue{fail(IssueExtraction)}},
			[]string{ReasonFailedCheck, ReasonParseFailure}},
		{"all at once, in list order", ResultLine{Status: "ok", Confidence: 0.5,
			Issues: []Issue{fail(IssueEInvoiceMismatch), fail(IssueUngrounded), fail(IssueMissing), fail(IssueUngrounded)}},
			[]string{ReasonFailedCheck, ReasonUngrounded, ReasonLowConfidence, ReasonEInvoiceMismatch}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.line.ReviewReasons()
			if !slices.Equal(got, tt.want) || got == nil {
				t.Errorf("ReviewReasons() = %#v, want %#v", got, tt.want)
			}
			for _, r := range got {
				if !IsReviewReason(r) {
					t.Errorf("%q is not a review reason", r)
				}
			}
		})
	}
	if IsReviewReason("ocr") {
		t.Error("ocr is no review reason")
	}
}
