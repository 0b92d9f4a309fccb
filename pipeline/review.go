package pipeline

import (
	"slices"
	"time"
)

// The review loop's domain: why a document waits for a person (reasons),
// what a person asks to change (Change), and what is kept of it
// (Correction, Decision). Corrections are never written over: a
// document's current values are its latest extraction with its
// corrections applied in order. Checking and applying them is the review
// package's job; keeping them the store's.

// Review reasons: why a document is in the review queue. A document may
// have several.
const (
	// ReasonFailedCheck: a check failed (a required field missing, an
	// invalid value, amounts that do not add up, an implausible value, a
	// failed e-invoice rule...), other than those with a reason of their
	// own below.
	ReasonFailedCheck = "failed_check"
	// ReasonUngrounded: a value's quote is not on its page, or does not
	// hold the value (an ungrounded issue that failed).
	ReasonUngrounded = "ungrounded"
	// ReasonLowConfidence: the estimated probability that every required
	// field is right is below ReviewBelow.
	ReasonLowConfidence = "low_confidence"
	// ReasonEInvoiceMismatch: the page prints another value than the
	// e-invoice it carries (an einvoice_mismatch issue, of any severity).
	ReasonEInvoiceMismatch = "einvoice_mismatch"
	// ReasonParseFailure: the pipeline could not read the document or
	// extract from it (the result's status is failed; its error says
	// why: encrypted, malformed, no text layer, no valid answer...).
	ReasonParseFailure = "parse_failure"
)

// ReviewReasons lists the reasons in the order they are shown.
var ReviewReasons = []string{ReasonFailedCheck, ReasonUngrounded, ReasonLowConfidence, ReasonEInvoiceMismatch, ReasonParseFailure}

// ReviewReasons says why the line's document needs a person: none when
// it does not. The reasons are in the order of the ReviewReasons list.
func (l ResultLine) ReviewReasons() []string {
	found := map[string]bool{}
	if l.Status == "failed" {
		found[ReasonParseFailure] = true
	}
	for _, is := range l.Issues {
		switch {
		case is.Code == IssueEInvoiceMismatch:
			found[ReasonEInvoiceMismatch] = true
		case is.Severity != SeverityFail:
		case is.Code == IssueUngrounded:
			found[ReasonUngrounded] = true
		default:
			found[ReasonFailedCheck] = true
		}
	}
	if l.Status == "ok" && l.Confidence > 0 && l.Confidence < ReviewBelow {
		found[ReasonLowConfidence] = true
	}
	out := []string{}
	for _, r := range ReviewReasons {
		if found[r] {
			out = append(out, r)
		}
	}
	return out
}

// IsReviewReason reports whether s is one of the review reasons.
func IsReviewReason(s string) bool { return slices.Contains(ReviewReasons, s) }

// Change operations.
const (
	// OpSet gives a field (a top-level field, or a field of a list's
	// element: "line_items[2].amount") a value; the empty value clears it.
	OpSet = "set"
	// OpAdd appends an element to a list field ("line_items").
	OpAdd = "add"
	// OpRemove removes an element of a list field ("line_items[2]").
	OpRemove = "remove"
)

// Change is what a person asks to change in a document's values.
type Change struct {
	// Op is OpSet, OpAdd or OpRemove.
	Op string `json:"op"`
	// Field is the path of what changes: "total_amount",
	// "line_items[2].amount" (set); "line_items" (add); "line_items[2]"
	// (remove). Elements are numbered from 0, in the list as it is when
	// the change applies (after the changes before it).
	Field string `json:"field"`
	// Value is the value as typed or as printed (set): it is normalized
	// by the field's type, as an extractor's reading is.
	Value string `json:"value,omitempty"`
	// Item holds the new element's fields as typed (add).
	Item map[string]string `json:"item,omitempty"`
	// Evidence, when given, is where the value is printed: the page and
	// the quote (a line or the words picked on the page), and the box
	// picked. The quote must be on the page and hold the value.
	Evidence *ChangeEvidence `json:"evidence,omitempty"`
	// Reason says why, for the record (optional).
	Reason string `json:"reason,omitempty"`
}

// ChangeEvidence is where a corrected value is printed.
type ChangeEvidence struct {
	Page  int    `json:"page"`
	Quote string `json:"quote"`
	// Box is the area picked on the page image (page coordinates), if
	// any: kept for the record and for showing it again.
	Box *Box `json:"box,omitempty"`
}

// OriginReview is the Evidence.Origin of a value a person typed without
// pointing at where it is printed.
const OriginReview = "review"

// Correction is one change as kept: who made it, when, what the value was
// and what it became. A document's corrections are numbered from 1 in the
// order they apply (Seq).
type Correction struct {
	ID         int64  `json:"id"`
	DocumentID string `json:"document_id"`
	// Seq is the correction's place among the document's corrections.
	Seq int `json:"seq"`
	// Version is the document's version the correction made (the
	// corrections of one request share it).
	Version int    `json:"version"`
	Op      string `json:"op"`
	Field   string `json:"field"`
	// Before and After are the field before and after (set); Before is
	// nil when the field had no value.
	Before *Field `json:"before,omitempty"`
	After  *Field `json:"after,omitempty"`
	// Item is the element added (add) or removed (remove).
	Item *Item `json:"item,omitempty"`
	// Box is the area picked on the page as the value's evidence, if any
	// (the page and quote are the After field's).
	Box    *Box   `json:"box,omitempty"`
	Reason string `json:"reason,omitempty"`
	// By is the name of the API key that made it; KeyID its id.
	By    string    `json:"by"`
	KeyID string    `json:"key_id"`
	At    time.Time `json:"at"`
}

// Decisions.
const (
	DecisionApproved = "approved"
	DecisionRejected = "rejected"
)

// Decision is a person's verdict on a document's values at a version.
type Decision struct {
	ID         int64  `json:"id"`
	DocumentID string `json:"document_id"`
	// Version is the document's version the decision made.
	Version int `json:"version"`
	// Decision is DecisionApproved or DecisionRejected.
	Decision string `json:"decision"`
	// Schema is the name of the document's schema.
	Schema string    `json:"schema"`
	Reason string    `json:"reason,omitempty"`
	By     string    `json:"by"`
	KeyID  string    `json:"key_id"`
	At     time.Time `json:"at"`
	// QueuedAt is when the document entered the review queue (or, for
	// one that never needed review, when its first result was kept).
	QueuedAt time.Time `json:"queued_at"`
	// Corrections counts the document's corrections when it was decided;
	// CorrectedFields names the fields they touched (top-level names: a
	// list's, for its elements), sorted.
	Corrections     int      `json:"corrections"`
	CorrectedFields []string `json:"corrected_fields"`
}

// QueueQuery selects from the review queue: pending documents with a
// reason for review. Empty members select everything.
type QueueQuery struct {
	// Reason is one of ReviewReasons.
	Reason string
	Schema string
	// Vendor matches the current vendor name in part, ignoring case.
	Vendor string
	// Run selects the documents that have a result in that run.
	Run string
	// Limit bounds the page (default 50, at most 500); After is the Next
	// of the page before.
	Limit int
	After string
}

// QueueItem is a document waiting for review.
type QueueItem struct {
	DocumentID  string     `json:"document_id"`
	File        string     `json:"file"`
	Schema      string     `json:"schema"`
	RunID       string     `json:"run_id"`
	Status      string     `json:"status"`
	Error       string     `json:"error,omitempty"`
	Vendor      string     `json:"vendor"`
	Reasons     []string   `json:"reasons"`
	Confidence  float64    `json:"confidence"`
	Version     int        `json:"version"`
	Corrections int        `json:"corrections"`
	QueuedAt    *time.Time `json:"queued_at"`
	ResultAt    time.Time  `json:"result_at"`
	// Values are the current values of the scalar fields.
	Values map[string]string `json:"values"`
}

// QueuePage is a page of the queue, newest result first.
type QueuePage struct {
	Items []QueueItem `json:"items"`
	// Total counts the documents the query selects; Counts the documents
	// per reason that the query selects without its reason (so each
	// reason's count is what choosing it would give).
	Total  int            `json:"total"`
	Counts map[string]int `json:"counts"`
	// Next continues after this page ("" on the last).
	Next string `json:"next"`
}
