package pipeline

import (
	"context"
	"fmt"
)

// Evidence ties a value to where it was read: a page and a verbatim quote.
type Evidence struct {
	// Page is 1-based; 0 means the extractor gave no page.
	Page  int    `json:"page"`
	Quote string `json:"quote"`
	// Origin names where the value was read when that is not the page
	// text: "einvoice:BT-112" is business term BT-112 of an e-invoice
	// (Extraction.Source says which). Such a value also carries the page
	// and line that print it, when the page does; see NotPrinted.
	Origin string `json:"origin,omitempty"`
}

// NotPrinted reports that the value comes from a machine-readable source
// (Origin) and the page does not print it: no page, no quote. That is not
// an error: an e-invoice may carry more than its page shows.
func (e Evidence) NotPrinted() bool { return e.Origin != "" && e.Page == 0 && e.Quote == "" }

// Field is one extracted value with its evidence and the verdict of the
// deterministic checks.
type Field struct {
	// Value is the normalized value (see FieldType); "" when the field
	// was not found or could not be normalized (Raw then says what was
	// read).
	Value string `json:"value"`
	// Raw is the value exactly as the extractor returned it.
	Raw string `json:"raw"`
	// Currency is the ISO code printed with a money value, when there
	// was one.
	Currency string `json:"currency,omitempty"`
	Evidence
	// Grounded: the quote is on the cited page and contains the value.
	Grounded bool `json:"grounded"`
	// Confidence in [0, 1], from grounding, validation and agreement with
	// a second extractor; for a calibrated extractor, the estimated
	// probability that the value is right.
	Confidence float64 `json:"confidence"`
	// Signals are what the extractor and the checks know about how sure
	// the value is: the inputs of a calibrated confidence.
	Signals Signals `json:"signals,omitzero"`
	// Why says in a line how the extractor chose the value (the rules
	// extractor: the label or place, and what it beat). Optional.
	Why string `json:"why,omitempty"`
}

// Signals describe how sure a value is, for a calibrated confidence. The
// extractor sets the first group (the rules extractor does; others leave
// it zero), the checks the second.
type Signals struct {
	// Score is the winning candidate's score, Margin its lead over the
	// best alternative (constraints included), both in score points.
	Score  float64 `json:"score,omitempty"`
	Margin float64 `json:"margin,omitempty"`
	// Label: 1 a strong label (or a heading, a title), 0.5 a weak one, 0
	// none.
	Label float64 `json:"label,omitempty"`
	// Support counts the places that read the value (at most 3),
	// Alternatives the other values proposed (at most 5).
	Support      float64 `json:"support,omitempty"`
	Alternatives float64 `json:"alternatives,omitempty"`
	// Constraint: +1 the value satisfies a cross-field check (net + tax =
	// total, due after issue), -1 it breaks one, 0 none applies.
	Constraint float64 `json:"constraint,omitempty"`
	// Unlabelled: found by its shape or place alone.
	Unlabelled float64 `json:"unlabelled,omitempty"`
	// Cues counts the independent cues for the value (a label, its
	// place, a legal form, a matching web domain, a repetition, ...), at
	// most 5.
	Cues float64 `json:"cues,omitempty"`

	// Set by the checks: grounded on its page, valid for its type,
	// agreement with a second extractor (+1 same, -1 other, 0 unknown),
	// and implausible (a plausibility issue).
	Grounded    float64 `json:"grounded,omitempty"`
	Valid       float64 `json:"valid,omitempty"`
	Agree       float64 `json:"agree,omitempty"`
	Implausible float64 `json:"implausible,omitempty"`
	// OCR is the lowest OCR confidence (0..1) of the words that print the
	// value, when it was read from a recognised page.
	OCR float64 `json:"ocr,omitempty"`
}

// SignalNames are the names of the Signals, in order (their JSON keys).
var SignalNames = []string{"score", "margin", "label", "support", "alternatives", "constraint", "unlabelled", "cues", "grounded", "valid", "agree", "implausible"}

// Get returns the signal of a name (0 for unknown names).
func (s Signals) Get(name string) float64 {
	switch name {
	case "score":
		return s.Score
	case "margin":
		return s.Margin
	case "label":
		return s.Label
	case "support":
		return s.Support
	case "alternatives":
		return s.Alternatives
	case "constraint":
		return s.Constraint
	case "unlabelled":
		return s.Unlabelled
	case "cues":
		return s.Cues
	case "grounded":
		return s.Grounded
	case "valid":
		return s.Valid
	case "agree":
		return s.Agree
	case "implausible":
		return s.Implausible
	}
	return 0
}

// Found reports whether the extractor returned anything for the field.
func (f Field) Found() bool { return f.Raw != "" || f.Value != "" }

// Item is one element of an array field, such as an invoice line.
type Item struct {
	Fields map[string]Field `json:"fields"`
	// Evidence for the element as a whole (the line it was read from).
	Evidence
	Grounded bool `json:"grounded"`
}

// Severity says how much an issue matters.
type Severity string

// Severities: a warning asks for a look; a failure means the value (or
// the document) must not be used without a human.
const (
	SeverityWarn Severity = "warn"
	SeverityFail Severity = "fail"
)

// Issue is a problem found by a check.
type Issue struct {
	// Field is the path of the field concerned ("total_amount",
	// "line_items[2].amount"); empty for the document as a whole.
	Field    string   `json:"field,omitempty"`
	Code     string   `json:"code"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
}

// Issue codes.
const (
	IssueMissing     = "missing"      // a required field has no value
	IssueInvalid     = "invalid"      // the value does not normalize or validate
	IssueUngrounded  = "ungrounded"   // the quote is not on the page or lacks the value
	IssueArithmetic  = "arithmetic"   // amounts do not add up
	IssueDateOrder   = "date_order"   // a date is before another it cannot precede
	IssueExtraction  = "extraction"   // the extractor itself failed (no valid tool call, ...)
	IssueTruncated   = "truncated"    // the document did not fit the model's budget
	IssueDisagree    = "disagreement" // the second extractor read another value
	IssueImplausible = "implausible"  // the value is unlikely: a label word, a date years away from the others, not what its quote prints
	// IssueEInvoiceRule: the e-invoice breaks a business rule of EN 16931
	// that applies to its profile (the message names the rule).
	IssueEInvoiceRule = "einvoice_rule"
	// IssueEInvoice: the e-invoice was read with a repair or a doubt (an
	// invalid XML declaration, an unknown profile, a value that does not
	// parse); the message says what.
	IssueEInvoice = "einvoice"
	// IssueEInvoiceMismatch: the page prints another value than the
	// e-invoice carries for the same field.
	IssueEInvoiceMismatch = "einvoice_mismatch"
	// IssueOCRUncertain: the value was read by OCR from words it was not
	// sure of; it is on the page as recognised, but a person must look.
	IssueOCRUncertain = "ocr_uncertain"
)

// Usage is what extracting a document cost.
type Usage struct {
	InputTokens  int     `json:"input_tokens"`
	OutputTokens int     `json:"output_tokens"`
	Attempts     int     `json:"attempts"`
	CostUSD      float64 `json:"cost_usd"`
	// Prices is the version of the price table behind CostUSD; empty when
	// the model was not in the table (the cost is then unknown, not 0).
	Prices string `json:"prices,omitempty"`
}

// Add sums usage.
func (u *Usage) Add(v Usage) {
	u.InputTokens += v.InputTokens
	u.OutputTokens += v.OutputTokens
	u.Attempts += v.Attempts
	u.CostUSD += v.CostUSD
	if v.Prices != "" {
		u.Prices = v.Prices
	}
}

// ExtractorRef says what produced an extraction.
type ExtractorRef struct {
	// Kind is "llm", "rules" or "einvoice".
	Kind  string `json:"kind"`
	Model string `json:"model,omitempty"`
	// PromptVersion is the content hash of the prompt templates used.
	PromptVersion string `json:"prompt_version,omitempty"`
	// Version of the extractor's own code and rules.
	Version string `json:"version,omitempty"`
}

// Attempt records one request to a model, including re-asks.
type Attempt struct {
	Number     int    `json:"number"`
	ResponseID string `json:"response_id,omitempty"`
	// Model is the model the provider says answered.
	Model        string `json:"model,omitempty"`
	FinishReason string `json:"finish_reason,omitempty"`
	InputTokens  int    `json:"input_tokens"`
	OutputTokens int    `json:"output_tokens"`
	// Retries counts transport retries (429, 5xx, timeouts) behind it.
	Retries int `json:"retries,omitempty"`
	// Problem says why the answer was not accepted ("" when it was).
	Problem    string `json:"problem,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// Extraction is the result of extracting a schema's fields from a document.
type Extraction struct {
	DocumentID string       `json:"document_id"`
	Schema     SchemaRef    `json:"schema"`
	Extractor  ExtractorRef `json:"extractor"`
	// Fields holds the scalar fields by name.
	Fields map[string]Field `json:"fields"`
	// Lists holds the array fields by name (line_items, ...).
	Lists    map[string][]Item `json:"lists,omitempty"`
	Issues   []Issue           `json:"issues"`
	Usage    Usage             `json:"usage"`
	Attempts []Attempt         `json:"attempts,omitempty"`
	// Source names the machine-readable data the values were read from;
	// nil when they were read from the page text.
	Source *Source `json:"source,omitempty"`
	// Confidence is the estimated probability that every required field
	// is right, set by the validator (0 when it does not estimate it):
	// the document-level decision to automate or review compares it with
	// a threshold.
	Confidence float64 `json:"confidence,omitempty"`
}

// ReviewBelow is the document confidence under which a document goes to a
// person even without a failing issue (the default automation threshold).
const ReviewBelow = 0.8

// NeedsReview is the document-level decision: a person must look at the
// document when an issue failed, or when the validator estimated the
// probability that every required field is right (Confidence) and it is
// below ReviewBelow. Without an estimate only failing issues count.
func (x Extraction) NeedsReview() bool {
	return x.Failed() || x.Confidence > 0 && x.Confidence < ReviewBelow
}

// Source is the machine-readable data an extraction was read from: the
// e-invoice XML attached to a hybrid PDF, or an XML document of its own.
// It is what lineage records about it.
type Source struct {
	// Kind is "einvoice".
	Kind string `json:"kind"`
	// Attachment is the attachment's file name ("factur-x.xml").
	Attachment string `json:"attachment"`
	// Relationship is the attachment's /AFRelationship, if any.
	Relationship string `json:"relationship,omitempty"`
	// Syntax is the XML syntax: "CII", "UBL Invoice", "UBL CreditNote",
	// "ZUGFeRD 1.0" (or its pre-release "ZUGFeRD RC").
	Syntax string `json:"syntax"`
	// Profile is the profile the guideline names: "MINIMUM", "BASIC WL",
	// "BASIC", "EN 16931", "EXTENDED", "XRechnung", "ZUGFeRD 1.0
	// COMFORT", ...; "" when the guideline names none we know.
	Profile string `json:"profile,omitempty"`
	// Guideline is the specification identifier (BT-24) as written.
	Guideline string `json:"guideline,omitempty"`
	// SHA256 is the hex SHA-256 of the XML bytes.
	SHA256 string `json:"sha256"`
	// RulesChecked: the EN 16931 business rules of the profile were
	// checked (they are not for ZUGFeRD 1.0 and unknown profiles).
	RulesChecked bool `json:"rules_checked"`
	// Violations are the codes of the rules the XML breaks ("BR-CO-16").
	Violations []string `json:"violations,omitempty"`
}

// Failed reports whether any issue has severity fail.
func (x Extraction) Failed() bool {
	for _, i := range x.Issues {
		if i.Severity == SeverityFail {
			return true
		}
	}
	return false
}

// Extractor reads a schema's fields from a parsed document: raw values
// with their evidence, as printed. The deterministic checks are the
// Validator's job, in a step of their own. Extract returns an error only
// when it produced nothing usable (the Extraction then still carries the
// usage and attempts it cost).
type Extractor interface {
	Extract(ctx context.Context, doc Document, schema Schema) (Extraction, error)
	// Version names the extractor, model and settings (prompt version
	// included): everything that can change what it reads.
	Version() string
}

// Selective is an Extractor that reads only some documents: a second
// reading that is needed only for documents of one kind. The runner skips
// its step, with no record, when Applies says no.
type Selective interface {
	Applies(doc Document) bool
}

// StepError is a failure of one step for one document.
type StepError struct {
	Step       string
	DocumentID string
	Err        error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("%s %s: %v", e.Step, shortID(e.DocumentID), e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
