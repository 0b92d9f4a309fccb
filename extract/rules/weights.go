package rules

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// Features describe one candidate value: how it was found and what it
// looks like. Most are 0 or 1; a few count (cells, pages, repeats). The
// score of a candidate is the dot product of its features with the
// matching Weights.
type Features struct {
	// The label next to the value.
	Strong     float64 // a strong label of the field ("Invoice No.")
	Weak       float64 // a weak one ("No.", "Date", "Total")
	InSentence float64 // the label stands inside running text, not at the start of its cell
	Below      float64 // the value is under its label, not right of it
	Gap        float64 // cells (right) or lines (below) between label and value
	Title      float64 // the number follows the document's title ("Rechnung Nr. 17")
	Unlabelled float64 // found by its shape alone (an IBAN, a VAT id, the first date)

	// Where the value is.
	Early    float64 // header fields: 1 at the top of page 1, falling to 0 at its bottom and later
	Late     float64 // summary fields: the share of the document above the value
	Page     float64 // pages before the value's, at most 3
	Font     float64 // line height over the median line height, minus 1
	Repeated float64 // other lines that print the value, at most 3

	// Amounts.
	Currency float64 // printed with a currency
	Zero     float64 // the amount is 0
	Last     float64 // the last amount of its line
	Rank     float64 // amounts right of it on its line
	Column   float64 // under a column header of the field in a totals table

	// Parties.
	Letterhead  float64 // a name-like cell at the top of page 1
	SenderLine  float64 // the first part of "Name · Street · City" above the address window
	LegalLine   float64 // the name of a legal line ("X GmbH · Sitz ...", "X SAS au capital de")
	LegalForm   float64 // the name carries a legal form (GmbH, Ltd, SAS)
	Block       float64 // the first name line of an address block
	Window      float64 // customers: the block sits in the address window, under a sender line
	Heading     float64 // under or after a heading of the field's party ("Bill to", "Seller")
	OtherParty  float64 // in the other party's block, under its heading or in its place (the window, for the vendor)
	DomainMatch float64 // the name matches the document's e-mail or web domain
	Person      float64 // the name looks like a person's (two words, no legal form)
	Brand       float64 // a logo as text: one word in capitals or letter-spaced, no legal form

	// IBAN and VAT id.
	Debit float64 // the account is to be debited (the buyer's)
}

// Weights weigh Features into a candidate's score, and the resolver's
// constraints into a joint score. They are the extractor's only tuned
// numbers; DefaultWeights holds the fitted values (see extract/rules's
// fitting in evals and cmd: "extractor fit-rules").
type Weights struct {
	Strong     float64 `json:"strong"`
	Weak       float64 `json:"weak"`
	InSentence float64 `json:"in_sentence"`
	Below      float64 `json:"below"`
	Gap        float64 `json:"gap"`
	Title      float64 `json:"title"`
	Unlabelled float64 `json:"unlabelled"`

	Early    float64 `json:"early"`
	Late     float64 `json:"late"`
	Page     float64 `json:"page"`
	Font     float64 `json:"font"`
	Repeated float64 `json:"repeated"`

	Currency float64 `json:"currency"`
	Zero     float64 `json:"zero"`
	Last     float64 `json:"last"`
	Rank     float64 `json:"rank"`
	Column   float64 `json:"column"`

	Letterhead  float64 `json:"letterhead"`
	SenderLine  float64 `json:"sender_line"`
	LegalLine   float64 `json:"legal_line"`
	LegalForm   float64 `json:"legal_form"`
	Block       float64 `json:"block"`
	Window      float64 `json:"window"`
	Heading     float64 `json:"heading"`
	OtherParty  float64 `json:"other_party"`
	DomainMatch float64 `json:"domain_match"`
	Person      float64 `json:"person"`
	Brand       float64 `json:"brand"`

	Debit float64 `json:"debit"`

	// The resolver's constraints.
	Arithmetic     float64 `json:"arithmetic"`       // net + tax = total
	ArithmeticMiss float64 `json:"arithmetic_miss"`  // net, tax and total that do not add up
	NetIsTotal     float64 `json:"net_is_total"`     // no tax: net = total
	TotalBelowNet  float64 `json:"total_below_net"`  // a total smaller than the net
	NoTotal        float64 `json:"no_total"`         // no total chosen
	ItemsSum       float64 `json:"items_sum"`        // the line items add up to the net or the total
	TaxRate        float64 `json:"tax_rate"`         // tax / net is a common VAT rate
	DueBeforeIssue float64 `json:"due_before_issue"` // the due date precedes the issue date
	DueFar         float64 `json:"due_far"`          // the due date is more than a year after the issue date
	DateFar        float64 `json:"date_far"`         // per year a date is away from the document's other dates

	// Threshold is the lowest score a value is returned with.
	Threshold float64 `json:"threshold"`
}

//go:embed weights.json
var weightsJSON []byte

// DefaultWeights are the weights Extractor uses when its Config gives
// none: the fitted values of weights.json ("extractor fit-rules --write"),
// over the hand-set starting values below for any weight the file lacks.
var DefaultWeights = func() Weights {
	w := StartWeights
	if err := json.Unmarshal(weightsJSON, &w); err != nil {
		panic(fmt.Sprintf("rules: weights.json: %v", err))
	}
	return w
}()

// StartWeights are the hand-set weights fitting starts from (not the
// fitted ones: a family held out must not have shaped its own starting
// point).
var StartWeights = Weights{
	Strong: 10, Weak: 5, InSentence: -3, Below: -0.5, Gap: -0.6, Title: 7, Unlabelled: 3,
	Early: 1, Late: 1, Page: -0.5, Font: 0.8, Repeated: 0.4,
	Currency: 0.5, Zero: -4, Last: 1, Rank: -0.4, Column: 3,
	Letterhead: 3, SenderLine: 4, LegalLine: 3, LegalForm: 2, Block: 2, Window: 5, Heading: 3, OtherParty: -8, DomainMatch: 2, Person: -0.5, Brand: -2,
	Debit:      -12,
	Arithmetic: 15, ArithmeticMiss: -8, NetIsTotal: 2, TotalBelowNet: -8, NoTotal: -6, ItemsSum: 3, TaxRate: 1,
	DueBeforeIssue: -12, DueFar: -4, DateFar: -3,
	Threshold: 0,
}

// score weighs a candidate's features.
func (w Weights) score(f Features) float64 {
	return w.Strong*f.Strong + w.Weak*f.Weak + w.InSentence*f.InSentence + w.Below*f.Below + w.Gap*f.Gap + w.Title*f.Title + w.Unlabelled*f.Unlabelled +
		w.Early*f.Early + w.Late*f.Late + w.Page*f.Page + w.Font*f.Font + w.Repeated*f.Repeated +
		w.Currency*f.Currency + w.Zero*f.Zero + w.Last*f.Last + w.Rank*f.Rank + w.Column*f.Column +
		w.Letterhead*f.Letterhead + w.SenderLine*f.SenderLine + w.LegalLine*f.LegalLine + w.LegalForm*f.LegalForm + w.Block*f.Block +
		w.Window*f.Window + w.Heading*f.Heading + w.OtherParty*f.OtherParty + w.DomainMatch*f.DomainMatch + w.Person*f.Person + w.Brand*f.Brand +
		w.Debit*f.Debit
}

// Vector returns the weights in declaration order, with their names (the
// JSON keys): the fitting code varies them one at a time.
func (w Weights) Vector() (names []string, values []float64) {
	v := reflect.ValueOf(w)
	t := v.Type()
	for i := range t.NumField() {
		names = append(names, strings.Split(t.Field(i).Tag.Get("json"), ",")[0])
		values = append(values, v.Field(i).Float())
	}
	return names, values
}

// WeightsFromVector is the inverse of Vector.
func WeightsFromVector(values []float64) (Weights, error) {
	var w Weights
	v := reflect.ValueOf(&w).Elem()
	if len(values) != v.NumField() {
		return w, fmt.Errorf("rules: %d weights, want %d", len(values), v.NumField())
	}
	for i, x := range values {
		v.Field(i).SetFloat(x)
	}
	return w, nil
}

// nonZero lists the features that are set, with their weighted share of
// the score, for explanations: "strong label +10, page 2 -0.5".
func (w Weights) terms(f Features) []term {
	fv := reflect.ValueOf(f)
	wv := reflect.ValueOf(w)
	ft := fv.Type()
	var out []term
	for i := range ft.NumField() {
		x := fv.Field(i).Float()
		if x == 0 {
			continue
		}
		name := ft.Field(i).Name
		out = append(out, term{Name: name, Value: x, Weighted: x * wv.FieldByName(name).Float()})
	}
	return out
}

// term is one feature's share of a score.
type term struct {
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Weighted float64 `json:"weighted"`
}
