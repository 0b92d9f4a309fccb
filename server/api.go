package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/extractor-dev/extractor/internal/schemaerr"
	"github.com/extractor-dev/extractor/pipeline"
)

// optionsSchema is what the "options" part may hold.
const optionsSchema = `{
  "type": "object",
  "properties": {
    "schema": {"enum": ["invoice", "nda"]},
    "extractor": {"enum": ["auto", "llm", "rules"]}
  },
  "additionalProperties": false
}`

var optionsValidator = func() *jsonschema.Schema {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(optionsSchema))
	if err != nil {
		panic(err)
	}
	if err := c.AddResource("options.json", doc); err != nil {
		panic(err)
	}
	return c.MustCompile("options.json")
}()

// parseOptions reads and validates the options part.
func parseOptions(b []byte) (Options, error) {
	var o Options
	if len(bytes.TrimSpace(b)) == 0 {
		return o, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return o, fmt.Errorf("%w: the options part is not JSON: %v", ErrInvalid, err)
	}
	if err := optionsValidator.Validate(doc); err != nil {
		ve, ok := err.(*jsonschema.ValidationError)
		if !ok {
			return o, fmt.Errorf("%w: options: %v", ErrUnprocessable, err)
		}
		return o, &ValidationError{Part: "options", Errors: fieldErrors(ve)}
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return o, fmt.Errorf("%w: options: %v", ErrInvalid, err)
	}
	return o, nil
}

// fieldErrors flattens a validation error into its leaves, by JSON pointer.
func fieldErrors(ve *jsonschema.ValidationError) []FieldError {
	var out []FieldError
	for _, l := range schemaerr.Leaves(ve) {
		out = append(out, FieldError{Pointer: l.Pointer, Detail: l.Detail})
	}
	return out
}

// maxOptionsBytes bounds the options part.
const maxOptionsBytes = 64 << 10

// readUpload reads a multipart upload: a "file" part (a PDF) and an
// optional "options" part (JSON), checking the limits.
func (s *Server) readUpload(w http.ResponseWriter, r *http.Request) (Upload, Options, error) {
	var u Upload
	var o Options
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		return u, o, fmt.Errorf("%w: send multipart/form-data with a \"file\" part (the PDF) and an optional \"options\" part (JSON)", ErrInvalid)
	}
	seenFile := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return u, o, bodyError(err)
		}
		switch part.FormName() {
		case "file":
			if seenFile {
				return u, o, fmt.Errorf("%w: one file per request", ErrInvalid)
			}
			seenFile = true
			u.Name = displayName(part.FileName())
			if u.Data, err = io.ReadAll(part); err != nil {
				return u, o, bodyError(err)
			}
		case "options":
			b, err := io.ReadAll(io.LimitReader(part, maxOptionsBytes+1))
			if err != nil {
				return u, o, bodyError(err)
			}
			if len(b) > maxOptionsBytes {
				return u, o, fmt.Errorf("%w: the options part is over %d bytes", ErrInvalid, maxOptionsBytes)
			}
			if o, err = parseOptions(b); err != nil {
				return u, o, err
			}
		default:
			if _, err := io.Copy(io.Discard, part); err != nil {
				return u, o, bodyError(err)
			}
		}
		part.Close()
	}
	if !seenFile {
		return u, o, fmt.Errorf("%w: no \"file\" part", ErrInvalid)
	}
	sum := sha256.Sum256(u.Data)
	u.SHA256 = hex.EncodeToString(sum[:])
	if u.Name == "" {
		u.Name = u.SHA256[:12] + ".pdf"
	}
	if s.cfg.Inspect != nil {
		n, err := s.cfg.Inspect.Inspect(r.Context(), u.Data)
		if errors.Is(err, ErrUnprocessable) || errors.Is(err, ErrUnsupportedMedia) {
			return u, o, err
		}
		if err == nil && n > s.cfg.MaxPages {
			return u, o, fmt.Errorf("%w: %d pages, the limit is %d", ErrUnprocessable, n, s.cfg.MaxPages)
		}
		u.Pages = n // 0 when the count failed: the pipeline will say why
	}
	return u, o, nil
}

// maxNameRunes bounds an upload's name as it is kept and shown.
const maxNameRunes = 120

// displayName is a client's file name as data: printable (see
// pipeline.Printable), at most maxNameRunes long, and never a path on this
// machine (uploads are processed from memory).
func displayName(name string) string {
	return pipeline.Printable(strings.TrimSpace(name), maxNameRunes)
}

// bodyError classifies an error reading the body.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("%w: over %d bytes", ErrTooLarge, mbe.Limit)
	}
	if errors.Is(err, multipart.ErrMessageTooLarge) {
		return fmt.Errorf("%w: %v", ErrTooLarge, err)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: the body did not arrive in time", ErrTimeout)
	}
	return fmt.Errorf("%w: reading the body: %v", ErrInvalid, err)
}

func (s *Server) postExtraction(w http.ResponseWriter, r *http.Request, _ Principal) error {
	u, o, err := s.readUpload(w, r)
	if err != nil {
		return err
	}
	line, err := s.cfg.Extractor.Extract(r.Context(), u, o)
	if err != nil {
		return err
	}
	s.metrics.Extraction("sync", line.Status, line.Usage.InputTokens, line.Usage.OutputTokens, line.Usage.CostUSD)
	return writeJSON(w, http.StatusOK, line)
}

// idempotencyKeyPattern: printable ASCII, 1-255 characters.
var idempotencyKeyPattern = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)

func (s *Server) postJob(w http.ResponseWriter, r *http.Request, p Principal) error {
	key := r.Header.Get("Idempotency-Key")
	if key != "" && !idempotencyKeyPattern.MatchString(key) {
		return fmt.Errorf("%w: Idempotency-Key must be 1 to 255 printable ASCII characters", ErrInvalid)
	}
	u, o, err := s.readUpload(w, r)
	if err != nil {
		return err
	}
	job, existed, err := s.cfg.Jobs.Submit(r.Context(), p, key, u, o)
	if err != nil {
		return err
	}
	if existed {
		w.Header().Set("Idempotent-Replayed", "true")
	} else {
		s.metrics.Job("submitted")
	}
	w.Header().Set("Location", fmt.Sprintf("/v1/jobs/%d", job.ID))
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(s.cfg.JobRetryAfter/time.Second))))
	return writeJSON(w, http.StatusAccepted, job)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return fmt.Errorf("%w: job %q", ErrNotFound, r.PathValue("id"))
	}
	job, err := s.cfg.Jobs.Job(r.Context(), id)
	if err != nil {
		return err
	}
	if job.Owner != p.KeyID {
		return fmt.Errorf("%w: job %d", ErrNotFound, id) // another key's job does not exist for this one
	}
	if job.State == "queued" || job.State == "running" {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(s.cfg.JobRetryAfter/time.Second))))
	}
	return writeJSON(w, http.StatusOK, job)
}

func (s *Server) getDocument(w http.ResponseWriter, r *http.Request, _ Principal) error {
	v, err := s.cfg.Catalog.Document(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request, _ Principal) error {
	v, err := s.cfg.Catalog.Run(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) postSearch(w http.ResponseWriter, r *http.Request, _ Principal) error {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	var req SearchRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("%w: over %d bytes", ErrTooLarge, mbe.Limit)
		}
		return fmt.Errorf("%w: the body must be a JSON object {query, k, mode, filters}: %v", ErrInvalid, err)
	}
	if strings.TrimSpace(req.Query) == "" {
		return &ValidationError{Part: "body", Errors: []FieldError{{Pointer: "/query", Detail: "a query is required"}}}
	}
	if req.K < 0 || req.K > 100 {
		return &ValidationError{Part: "body", Errors: []FieldError{{Pointer: "/k", Detail: "k is between 1 and 100"}}}
	}
	if req.Mode != "" && req.Mode != "hybrid" && req.Mode != "vector" && req.Mode != "text" {
		return &ValidationError{Part: "body", Errors: []FieldError{{Pointer: "/mode", Detail: "mode is hybrid, vector or text"}}}
	}
	v, err := s.cfg.Catalog.Search(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) getLivez(w http.ResponseWriter, _ *http.Request, _ Principal) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) getReadyz(w http.ResponseWriter, r *http.Request, _ Principal) error {
	if err := s.cfg.Ready.Ready(r.Context()); err != nil {
		if !errors.Is(err, ErrUnavailable) {
			err = fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// maxRunFolderRequest bounds the JSON body of a folder run.
const maxRunFolderRequest = 64 << 10

// postRun queues a batch run: the files of a multipart body (each a "file"
// part, with an optional "options" part), or a JSON body naming a folder
// on the server's side ({"folder", "options"}) that its configuration
// allows. 202 with the run's id; its progress is at GET /v1/runs/{id}.
func (s *Server) postRun(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req RunRequest
	media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch media {
	case "application/json":
		r.Body = http.MaxBytesReader(w, r.Body, maxRunFolderRequest)
		var body struct {
			Folder  string          `json:"folder"`
			Options json.RawMessage `json:"options"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return fmt.Errorf("%w: over %d bytes", ErrTooLarge, mbe.Limit)
			}
			return fmt.Errorf("%w: the body must be a JSON object {folder, options}: %v", ErrInvalid, err)
		}
		if strings.TrimSpace(body.Folder) == "" {
			return &ValidationError{Part: "body", Errors: []FieldError{{Pointer: "/folder", Detail: "a folder is required"}}}
		}
		req.Folder = body.Folder
		if len(body.Options) > 0 {
			o, err := parseOptions(body.Options)
			if err != nil {
				return err
			}
			req.Options = o
		}
	case "multipart/form-data":
		var err error
		if req.Uploads, req.Options, err = s.readUploads(w, r); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: send multipart/form-data with \"file\" parts, or a JSON body naming a folder", ErrUnsupportedMedia)
	}
	run, err := s.cfg.Runs.SubmitRun(r.Context(), p, req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/runs/"+url.PathEscape(run.RunID))
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(s.cfg.JobRetryAfter/time.Second))))
	return writeJSON(w, http.StatusAccepted, run)
}

// readUploads reads a multipart body of any number of "file" parts and
// an optional "options" part. Files are not inspected here: a file a
// worker cannot read gets a failed result line, and the run goes on.
func (s *Server) readUploads(w http.ResponseWriter, r *http.Request) ([]Upload, Options, error) {
	var out []Upload
	var o Options
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, o, fmt.Errorf("%w: send multipart/form-data with \"file\" parts (the PDFs) and an optional \"options\" part (JSON)", ErrInvalid)
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, o, bodyError(err)
		}
		switch part.FormName() {
		case "file":
			u := Upload{Name: displayName(part.FileName())}
			if u.Data, err = io.ReadAll(part); err != nil {
				return nil, o, bodyError(err)
			}
			sum := sha256.Sum256(u.Data)
			u.SHA256 = hex.EncodeToString(sum[:])
			if u.Name == "" {
				u.Name = u.SHA256[:12] + ".pdf"
			}
			out = append(out, u)
		case "options":
			b, err := io.ReadAll(io.LimitReader(part, maxOptionsBytes+1))
			if err != nil {
				return nil, o, bodyError(err)
			}
			if len(b) > maxOptionsBytes {
				return nil, o, fmt.Errorf("%w: the options part is over %d bytes", ErrInvalid, maxOptionsBytes)
			}
			if o, err = parseOptions(b); err != nil {
				return nil, o, err
			}
		default:
			if _, err := io.Copy(io.Discard, part); err != nil {
				return nil, o, bodyError(err)
			}
		}
		part.Close()
	}
	if len(out) == 0 {
		return nil, o, fmt.Errorf("%w: no \"file\" part", ErrInvalid)
	}
	return out, o, nil
}
