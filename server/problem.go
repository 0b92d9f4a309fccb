package server

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/extractor-dev/extractor/pipeline"
)

// Error kinds. Implementations of the server's interfaces wrap these (with
// fmt.Errorf's %w) so that the server answers with the right status; any
// other error is a 500 whose detail is not shown to the client.
var (
	// ErrInvalid: the request is malformed (not multipart, no file part,
	// options that are not JSON...).
	ErrInvalid = pipeline.Kind("invalid request", pipeline.ErrInvalid)
	// ErrUnprocessable: the request is well-formed but cannot be done (too
	// many pages, options that fail their schema, a document that cannot
	// be read). Any other pipeline.ErrInvalid maps to it too.
	ErrUnprocessable = pipeline.Kind("unprocessable request", pipeline.ErrInvalid)
	// ErrConflict: an Idempotency-Key was used before with another request.
	ErrConflict = pipeline.Kind("idempotency key reused with another request", pipeline.ErrConflict)
	// ErrUnauthorized: no API key, or one that is unknown or revoked (any
	// pipeline.ErrUnauthorized).
	ErrUnauthorized = pipeline.Kind("missing or invalid API key", pipeline.ErrUnauthorized)
	// ErrNotFound: no such document, job, run or route (any
	// pipeline.ErrNotFound).
	ErrNotFound = pipeline.ErrNotFound
	// ErrMethodNotAllowed: the route exists, not with this method (the
	// Allow header lists those it has).
	ErrMethodNotAllowed = errors.New("method not allowed")
	// ErrTooLarge: the body is over the size limit.
	ErrTooLarge = errors.New("request body too large")
	// ErrUnsupportedMedia: the file is not a PDF.
	ErrUnsupportedMedia = errors.New("not a PDF")
	// ErrRateLimited: the key made too many requests; retry later.
	ErrRateLimited = errors.New("rate limit exceeded")
	// ErrUnavailable: a dependency (the database) is down (any
	// pipeline.ErrUnavailable).
	ErrUnavailable = pipeline.Kind("service unavailable", pipeline.ErrUnavailable)
	// ErrTimeout: the request's deadline passed.
	ErrTimeout = errors.New("request deadline exceeded")
	// ErrPreconditionFailed: the If-Match of a change does not name the
	// document's current version (someone changed it since it was read).
	ErrPreconditionFailed = pipeline.Kind("the document changed since it was read", pipeline.ErrConflict)
	// ErrPreconditionRequired: a change without If-Match.
	ErrPreconditionRequired = errors.New("If-Match required")
)

// kinds is the one table from error kinds to HTTP: status, the problem
// type's slug and its title. The first kind an error matches wins.
var kinds = []struct {
	err    error
	status int
	slug   string
}{
	{ErrInvalid, http.StatusBadRequest, "invalid-request"},
	{ErrUnauthorized, http.StatusUnauthorized, "unauthorized"},
	{ErrNotFound, http.StatusNotFound, "not-found"},
	{ErrMethodNotAllowed, http.StatusMethodNotAllowed, "method-not-allowed"},
	{ErrTooLarge, http.StatusRequestEntityTooLarge, "too-large"},
	{ErrUnsupportedMedia, http.StatusUnsupportedMediaType, "unsupported-media-type"},
	{ErrConflict, http.StatusUnprocessableEntity, "idempotency-conflict"},
	{ErrUnprocessable, http.StatusUnprocessableEntity, "unprocessable"},
	{ErrRateLimited, http.StatusTooManyRequests, "rate-limited"},
	{ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
	{ErrTimeout, http.StatusGatewayTimeout, "timeout"},
	{ErrPreconditionFailed, http.StatusPreconditionFailed, "precondition-failed"},
	{ErrPreconditionRequired, http.StatusPreconditionRequired, "precondition-required"},
	// The kinds any layer may return, after the server's own.
	{pipeline.ErrInvalid, http.StatusUnprocessableEntity, "unprocessable"},
	{pipeline.ErrUnauthorized, http.StatusUnauthorized, "unauthorized"},
	{pipeline.ErrConflict, http.StatusConflict, "conflict"},
	{pipeline.ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
}

// ProblemType is the URI prefix of problem types: "urn:extractor:problem:not-found".
const ProblemType = "urn:extractor:problem:"

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	TraceID  string `json:"trace_id,omitempty"`
	// Errors lists what is wrong where, by JSON pointer into the part that
	// was checked (the options).
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError is one validation error, located by a JSON pointer.
type FieldError struct {
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

// ValidationError is an ErrUnprocessable with the errors of a JSON Schema
// validation.
type ValidationError struct {
	Part   string
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d %s", e.Part, len(e.Errors), map[bool]string{true: "error", false: "errors"}[len(e.Errors) == 1])
	for i, fe := range e.Errors {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s %s", sep, cmp.Or(fe.Pointer, "/"), fe.Detail)
	}
	return b.String()
}

// Unwrap makes a ValidationError an ErrUnprocessable.
func (e *ValidationError) Unwrap() error { return ErrUnprocessable }

// retryAfter is an error that says when to come back.
type retryAfter struct {
	error
	after time.Duration
}

func (e retryAfter) Unwrap() error { return e.error }

// problemFor maps an error to its problem; unknown errors are a 500
// without details.
func problemFor(err error) Problem {
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			p := Problem{Type: ProblemType + k.slug, Title: k.err.Error(), Status: k.status, Detail: err.Error()}
			var ve *ValidationError
			if errors.As(err, &ve) {
				p.Errors = ve.Errors
			}
			return p
		}
	}
	return Problem{Type: ProblemType + "internal", Title: "internal error", Status: http.StatusInternalServerError,
		Detail: "the server failed; the trace id locates what happened"}
}

// writeProblem answers with err as application/problem+json.
func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
	p.Instance = r.URL.Path
	if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
		p.TraceID = sc.TraceID().String()
	}
	if p.Status == http.StatusInternalServerError {
		s.cfg.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "trace_id", p.TraceID, "error", err)
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="extractor"`)
	}
	var ra retryAfter
	if errors.As(err, &ra) {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(ra.after.Round(time.Second)/time.Second))))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}
