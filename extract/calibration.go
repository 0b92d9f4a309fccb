package extract

import (
	"crypto/sha256"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"

	"github.com/extractor-dev/extractor/pipeline"
)

// Calibration turns a field's Signals into an estimate of the probability
// that its value is right: a logistic model with one bias per field and
// weights shared by all fields, fitted on labelled documents of some
// families and checked on held-out ones (the fitting and its report are
// in evals; "extractor fit-rules" writes the result). It applies to the
// extractor it was fitted for; others keep the fixed confidence formula.
type Calibration struct {
	Version string `json:"version"`
	// Extractor is the extractor kind the model was fitted for ("rules").
	Extractor string `json:"extractor"`
	// Signals names the inputs (pipeline.SignalNames), Scale multiplies
	// each before its weight.
	Signals []string  `json:"signals"`
	Scale   []float64 `json:"scale"`
	Weights []float64 `json:"weights"`
	// Bias is per field; DefaultBias for fields without one.
	Bias        map[string]float64 `json:"bias"`
	DefaultBias float64            `json:"default_bias"`
	// Document maps the fields' estimates to the probability that every
	// required field is right: σ(A + B·logit(Π p)) over the required
	// fields (A = 0, B = 1: their product).
	Document struct {
		A float64 `json:"a"`
		B float64 `json:"b"`
	} `json:"document"`
	// Fitted says on what and how the model was fitted.
	Fitted string `json:"fitted,omitempty"`
}

//go:embed calibration.json
var calibrationJSON []byte

// DefaultCalibration is the committed model (calibration.json).
var DefaultCalibration = func() Calibration {
	var c Calibration
	if err := json.Unmarshal(calibrationJSON, &c); err != nil {
		panic(fmt.Sprintf("extract: calibration.json: %v", err))
	}
	return c
}()

// hash names the model's content, for step versions.
func (c Calibration) hash() string {
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return fmt.Sprintf("c%x", sum[:4])
}

// Logit is the model's linear score of a field's signals.
func (c Calibration) Logit(field string, s pipeline.Signals) float64 {
	b, ok := c.Bias[field]
	if !ok {
		b = c.DefaultBias
	}
	z := b
	for i, name := range c.Signals {
		if i < len(c.Weights) && i < len(c.Scale) {
			z += c.Weights[i] * c.Scale[i] * s.Get(name)
		}
	}
	return z
}

// Field estimates the probability that a field's value is right.
func (c Calibration) Field(field string, s pipeline.Signals) float64 {
	return 1 / (1 + math.Exp(-c.Logit(field, s)))
}

// DocumentConfidence estimates the probability that every required field
// is right from their estimates (a missing one makes it 0).
func (c Calibration) DocumentConfidence(p []float64) float64 {
	prod := 1.0
	for _, x := range p {
		if x <= 0 {
			return 0
		}
		prod *= x
	}
	prod = min(max(prod, 1e-6), 1-1e-6)
	return 1 / (1 + math.Exp(-(c.Document.A + c.Document.B*math.Log(prod/(1-prod)))))
}

// Applies reports whether the model was fitted for an extraction's
// extractor.
func (c Calibration) Applies(x pipeline.Extraction) bool {
	return c.Extractor != "" && x.Extractor.Kind == c.Extractor && len(c.Weights) == len(c.Signals)
}
