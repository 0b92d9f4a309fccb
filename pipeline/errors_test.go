package pipeline

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestKindAndRetryable(t *testing.T) {
	errProvider := Kind("extract: provider error", ErrUnavailable)
	for _, tt := range []struct {
		err       error
		retryable bool
	}{
		{nil, false},
		{errors.New("malformed"), false},
		{fmt.Errorf("%w: HTTP 503", errProvider), true},
		{&StepError{Step: StepExtract, Err: fmt.Errorf("%w: HTTP 429", errProvider)}, true},
		{&StepError{Step: StepParse, Err: context.DeadlineExceeded}, false},
		{fmt.Errorf("%w: unknown field", ErrInvalid), false},
		{fmt.Errorf("%w: %w", ErrInvalid, ErrUnavailable), false},
	} {
		if got := Retryable(tt.err); got != tt.retryable {
			t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.retryable)
		}
	}
	err := fmt.Errorf("%w: HTTP 503", errProvider)
	if !errors.Is(err, errProvider) || !errors.Is(err, ErrUnavailable) || err.Error() != "extract: provider error: HTTP 503" {
		t.Errorf("%v", err)
	}
}
