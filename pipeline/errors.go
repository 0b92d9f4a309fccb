package pipeline

import "errors"

// Error kinds the layers branch on, declared once (as wtf's error.go
// does). Packages wrap them (with %w, or with Kind for a sentinel of their
// own) and the edges map them once: server/problem.go to HTTP statuses,
// cmd/extractor to exit codes. Code never matches error strings.
var (
	// ErrInvalid: the caller asked for something malformed or impossible
	// (a usage error, a bad filter, an unknown field). Retrying will not
	// help.
	ErrInvalid = errors.New("invalid")
	// ErrNotFound: no such run, document, job, key or route.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request contradicts the state (an idempotency key
	// reused for another request, an edit of a version that changed).
	ErrConflict = errors.New("conflict")
	// ErrUnauthorized: no credentials, or ones that are unknown or
	// revoked.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrUnavailable: a dependency (a model provider, the database) failed
	// or is overloaded: the same call may succeed later.
	ErrUnavailable = errors.New("unavailable")
)

// Kind returns a sentinel error with its own message that is also of the
// given kind: errors.Is(err, Kind(...)) and errors.Is(err, kind) both
// hold for anything that wraps it.
func Kind(msg string, kind error) error { return &kindError{msg: msg, kind: kind} }

type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// Retryable reports whether a failed document or job may succeed when done
// again later without any change (like pgconn's SafeToRetry): a dependency
// was unavailable (a provider's 429 or 5xx after the transport's own
// retries, a model that ran out of its budget, the database). A document
// that cannot be read or takes too long to parse, a model that gave no
// valid answer after its re-asks, an invalid request: those fail the same
// way again, and are not retried. (Work cut short by its caller's deadline
// or cancellation is interrupted, not failed: its caller decides.)
func Retryable(err error) bool {
	return err != nil && errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrInvalid)
}
