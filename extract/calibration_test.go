package extract

import (
	"math"
	"testing"

	"github.com/extractor-dev/extractor/pipeline"
)

func TestCalibration(t *testing.T) {
	c := Calibration{Extractor: "rules", Signals: []string{"label", "grounded"}, Scale: []float64{1, 1}, Weights: []float64{2, 3},
		Bias: map[string]float64{"total_amount": -1}, DefaultBias: -3}
	// logit = bias + 2·label + 3·grounded
	if got := c.Logit("total_amount", pipeline.Signals{Label: 1, Grounded: 1}); got != 4 {
		t.Errorf("logit %v, want 4", got)
	}
	if got := c.Logit("other", pipeline.Signals{Grounded: 1}); got != 0 {
		t.Errorf("default bias: logit %v, want 0", got)
	}
	if p := c.Field("other", pipeline.Signals{Grounded: 1}); p != 0.5 {
		t.Errorf("P = %v, want 0.5", p)
	}
	// the document: the product of the fields' estimates (A = 0, B = 1)
	c.Document.B = 1
	if got := c.DocumentConfidence([]float64{0.9, 0.5}); math.Abs(got-0.45) > 1e-9 {
		t.Errorf("document confidence %v, want 0.45", got)
	}
	if got := c.DocumentConfidence([]float64{0.9, 0}); got != 0 {
		t.Errorf("a missing required field: %v, want 0", got)
	}
	if !c.Applies(pipeline.Extraction{Extractor: pipeline.ExtractorRef{Kind: "rules"}}) || c.Applies(pipeline.Extraction{Extractor: pipeline.ExtractorRef{Kind: "llm"}}) {
		t.Error("Applies")
	}
	// the committed model loads and names every signal
	if len(DefaultCalibration.Signals) != len(pipeline.SignalNames) || len(DefaultCalibration.Weights) != len(DefaultCalibration.Signals) {
		t.Errorf("calibration.json: %d signals, %d weights", len(DefaultCalibration.Signals), len(DefaultCalibration.Weights))
	}
}
