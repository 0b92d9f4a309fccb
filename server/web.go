package server

// The web pages: server-rendered HTML for people reviewing what the
// pipeline did (upload a PDF, read its fields beside its text, browse runs,
// traces and the eval report).
//
// Everything a page needs is embedded (templates, one stylesheet, an SVG
// icon, one small script for keyboard shortcuts): nothing is loaded from
// another host, and no inline script runs, which the
// Content-Security-Policy says. Every page and form works without the
// script: forms are plain POSTs answered by a redirect.
// Every value goes through html/template: documents come from untrusted
// PDFs.
//
// Authentication: the pages take the same API keys as the API. The key is
// entered once in the login form and kept in a cookie (HttpOnly, so no
// script can read it; SameSite=Strict, so the browser sends it only with
// requests that start on this site; Secure when the request came over
// TLS). Each page checks it with Config.Auth, as the API checks a bearer
// token, and sends the browser to the login page when it is missing or no
// longer valid.
//
// Cross-site request forgery: besides SameSite=Strict, every POST (login,
// logout, upload, corrections, decisions) must come from this origin: net/http's
// CrossOriginProtection refuses a request whose Sec-Fetch-Site says it is
// cross-site, or whose Origin names another host; when the browser sends
// no Origin, a Referer from another host is refused too. A request with
// neither header (not a browser) passes: it has no cookie to abuse
// unless its sender holds the key anyway. A reverse proxy in front must
// keep the Host header.

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
)

//go:embed web
var webFiles embed.FS

const (
	// sessionCookie holds the API key the pages were logged in with.
	sessionCookie = "extractor_key"
	sessionMaxAge = 12 * time.Hour
	loginPath     = "/ui/login"
	pageTimeout   = 30 * time.Second
)

// errCrossOrigin is a POST that did not come from one of our pages.
var errCrossOrigin = errors.New("cross-origin request refused")

// webAssets are the static files; their URLs carry a content hash so that
// they can be cached for long.
var webAssets, assetVersion = func() (fs.FS, string) {
	sub, err := fs.Sub(webFiles, "web/static")
	if err != nil {
		panic(err)
	}
	h := sha256.New()
	err = fs.WalkDir(sub, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	if err != nil {
		panic(err)
	}
	return sub, hex.EncodeToString(h.Sum(nil))[:12]
}()

// pages are the page templates, each parsed with the layout.
var pages = func() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(pageFuncs).ParseFS(webFiles, "web/layout.html"))
	names, err := fs.Glob(webFiles, "web/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "web/"), ".html")
		if name == "layout" {
			continue
		}
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(webFiles, n))
	}
	return out
}()

var pageFuncs = template.FuncMap{
	"asset": func(name string) string { return "/ui/static/" + name + "?v=" + assetVersion },
	"path":  url.PathEscape,
	"reason": func(r string) string {
		if t, ok := reasonTitles[r]; ok {
			return t
		}
		return r
	},
}

// layout is what every page gets: the title, the active tab, who is
// logged in, and the page's own data.
type layout struct {
	Title  string
	Active string // "upload", "runs", "eval"
	User   string // "" when not logged in
	Data   any
}

// webHandler serves a page; p is the logged-in key (zero for public pages).
type webHandler func(w http.ResponseWriter, r *http.Request, p Principal) error

func (s *Server) webRoutes(mux *http.ServeMux) {
	page := func(pattern string, auth bool, h webHandler) {
		mux.Handle(pattern, s.webPage(pattern, auth, pageTimeout, h))
	}
	page("GET /ui/login", false, s.getLogin)
	page("POST /ui/login", false, s.postLogin)
	page("POST /ui/logout", false, s.postLogout)
	page("GET /ui/{$}", true, s.getUpload)
	mux.Handle("POST /ui/extract", s.webPage("POST /ui/extract", true, s.cfg.RequestTimeout, s.postUpload))
	page("GET /ui/documents/{id}", true, s.getDocumentPage)
	page("GET /ui/runs", true, s.getRunsPage)
	page("GET /ui/runs/{id}", true, s.getRunPage)
	page("GET /ui/traces/{id}", true, s.getTracePage)
	page("GET /ui/eval", true, s.getEvalPage)
	page("GET /ui/eval/report", true, s.getEvalReport)
	page("GET /ui/search", true, s.getSearchPage)
	if s.cfg.PageImages != nil {
		page("GET /ui/documents/{id}/pages/{n}/image", true, s.getPageImage)
	}
	if s.cfg.Corrections != nil {
		page("POST /ui/documents/{id}/fields", true, s.postFields)
		page("POST /ui/documents/{id}/decision", true, s.postDecisionForm)
	}
	if s.cfg.Queue != nil {
		page("GET /ui/review", true, s.getQueuePage)
	}
	if s.cfg.History != nil {
		page("GET /ui/diff", true, s.getDiffPage)
		page("GET /ui/documents/{id}/lineage", true, s.getLineagePage)
	}
	if s.cfg.Records != nil {
		page("GET /ui/metrics", true, s.getMetricsPage)
		mux.Handle("GET /ui/exports/approved", s.webPage("GET /ui/exports/approved", true, 5*time.Minute, s.getExportPage))
	}
	page("/ui/", false, func(w http.ResponseWriter, r *http.Request, _ Principal) error {
		return unmatched(mux, w, r)
	})
	mux.Handle("GET /ui/static/", s.instrument("GET /ui/static/", http.StripPrefix("/ui/static/", staticHandler())))
	mux.Handle("GET /{$}", s.instrument("GET /{$}", http.RedirectHandler("/ui/", http.StatusSeeOther)))
	mux.Handle("GET /favicon.ico", s.instrument("GET /favicon.ico", http.RedirectHandler("/ui/static/icon.svg", http.StatusMovedPermanently)))
	// Anything else is a 404: a page for a browser, a problem for an API
	// client.
	mux.Handle("/", s.instrument("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := unmatched(mux, w, r)
		if strings.Contains(r.Header.Get("Accept"), "text/html") {
			setPageHeaders(w)
			s.renderError(w, r, Principal{}, err)
			return
		}
		s.writeProblem(w, r, err)
	})))
}

// staticHandler serves the embedded assets (no directory listings).
func staticHandler() http.Handler {
	files := http.FileServerFS(webAssets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.URL.Query().Get("v") == assetVersion {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}

// pageCSP lets a page use our stylesheet, icon, page images, inline SVG
// and our one script (keyboard shortcuts; every page works without it),
// and nothing else: forms only to us, and no framing.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; " +
	"frame-src 'self'; frame-ancestors 'none'; base-uri 'none'"

func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// webPage runs a page: metrics, a deadline, the cross-origin check of
// POSTs, the login cookie and the key's rate limit, and errors as pages.
func (s *Server) webPage(pattern string, auth bool, timeout time.Duration, h webHandler) http.Handler {
	return s.instrument(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := withDeadline(w, r, timeout)
		defer cancel()
		r = r.WithContext(ctx)
		setPageHeaders(w)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := s.sameOrigin(r); err != nil {
				s.renderError(w, r, Principal{}, err)
				return
			}
		}
		var p Principal
		if auth {
			var ok bool
			var err error
			if p, ok, err = s.sessionPrincipal(w, r); err != nil {
				s.renderError(w, r, Principal{}, err)
				return
			}
			if !ok {
				next := r.URL.RequestURI()
				if r.Method != http.MethodGet {
					next = "/ui/"
				}
				http.Redirect(w, r, loginPath+"?next="+url.QueryEscape(next), http.StatusSeeOther)
				return
			}
			if err := s.allow(p); err != nil {
				s.renderError(w, r, p, err)
				return
			}
		}
		if err := h(w, r, p); err != nil {
			s.renderError(w, r, p, deadlineError(ctx, timeout, err))
		}
	}))
}

// sameOrigin refuses a state-changing request that a page of another site
// made the browser send.
func (s *Server) sameOrigin(r *http.Request) error {
	if err := s.crossOrigin.Check(r); err != nil {
		return fmt.Errorf("%w: %v", errCrossOrigin, err)
	}
	if r.Header.Get("Origin") == "" {
		if ref := r.Referer(); ref != "" {
			u, err := url.Parse(ref)
			if err != nil || u.Host != r.Host {
				return fmt.Errorf("%w: the Referer is another host", errCrossOrigin)
			}
		}
	}
	return nil
}

// sessionPrincipal checks the login cookie; ok is false when there is no
// valid one (and an invalid one is cleared).
func (s *Server) sessionPrincipal(w http.ResponseWriter, r *http.Request) (p Principal, ok bool, err error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return p, false, nil
	}
	p, err = s.cfg.Auth.Authenticate(r.Context(), c.Value)
	if errors.Is(err, ErrUnauthorized) {
		clearSession(w, r)
		return Principal{}, false, nil
	}
	if err != nil {
		return Principal{}, false, err
	}
	return p, true, nil
}

func setSession(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", MaxAge: int(sessionMaxAge / time.Second),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// render writes a page, all at once: a template that fails gives an error
// page, not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, l layout) error {
	t, ok := pages[name]
	if !ok {
		return fmt.Errorf("no page template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", l); err != nil {
		return fmt.Errorf("page %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
	return nil
}

// errorView is an error as a page shows it.
type errorView struct {
	Status  int
	Title   string
	Hint    string
	Detail  string
	TraceID string
}

// viewError turns an error into what a page shows: the status of the API's
// problem table, a heading and a hint for a person; the detail of a 500
// stays in the log.
func (s *Server) viewError(r *http.Request, err error) errorView {
	var v errorView
	if errors.Is(err, errCrossOrigin) {
		v = errorView{Status: http.StatusForbidden, Title: "Refused: the form was not sent from this site",
			Hint: "Open the page again from this server and send the form from there.", Detail: err.Error()}
	} else {
		p := problemFor(err)
		v = errorView{Status: p.Status, Detail: p.Detail}
		v.Title, v.Hint = errorText(p.Status)
	}
	if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
		v.TraceID = sc.TraceID().String()
	}
	if v.Status == http.StatusInternalServerError {
		s.cfg.Logger.Error("page failed", "method", r.Method, "path", r.URL.Path, "trace_id", v.TraceID, "error", err)
	}
	return v
}

func errorText(status int) (title, hint string) {
	switch status {
	case http.StatusBadRequest:
		return "The request is not right", "Check the form or the address and try again."
	case http.StatusUnauthorized:
		return "Not logged in", "Log in with an API key."
	case http.StatusNotFound:
		return "Not found", "There is nothing at this address: the link may be wrong, or what it pointed to is gone."
	case http.StatusRequestEntityTooLarge:
		return "The file is too large", "Upload a smaller PDF."
	case http.StatusUnsupportedMediaType:
		return "That file is not a PDF", "Upload a PDF file."
	case http.StatusUnprocessableEntity:
		return "The document cannot be processed", "The detail below says why."
	case http.StatusTooManyRequests:
		return "Too many requests", "Wait a moment, then try again."
	case http.StatusServiceUnavailable:
		return "The service is unavailable", "A dependency (the database) cannot be reached. Try again shortly."
	case http.StatusGatewayTimeout:
		return "That took too long", "The request ran past its deadline. Try again, or try a smaller document."
	}
	return "Something went wrong", "The server failed; the trace id below locates what happened in the logs and traces."
}

// renderError answers with an error page.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, p Principal, err error) {
	v := s.viewError(r, err)
	var ra retryAfter
	if errors.As(err, &ra) {
		w.Header().Set("Retry-After", fmt.Sprint(max(1, int(ra.after.Round(time.Second)/time.Second))))
	}
	if rerr := s.render(w, r, v.Status, "error", layout{Title: v.Title, User: p.display(), Data: v}); rerr != nil {
		s.cfg.Logger.Error("error page failed", "error", rerr)
		http.Error(w, v.Title, v.Status)
	}
}

// display names a principal for the page header.
func (p Principal) display() string {
	if p.Name != "" {
		return p.Name
	}
	return p.KeyID
}

// --- login ------------------------------------------------------------------

type loginView struct {
	Next  string
	Error string
}

// safeNext is where to go after logging in: a page of ours, never another
// site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/ui/") ||
		strings.HasPrefix(next, "//") || strings.Contains(next, "\\") || strings.HasPrefix(u.Path, loginPath) {
		return "/ui/"
	}
	return u.RequestURI()
}

func (s *Server) getLogin(w http.ResponseWriter, r *http.Request, _ Principal) error {
	next := safeNext(r.URL.Query().Get("next"))
	_, ok, err := s.sessionPrincipal(w, r)
	if err != nil {
		return err
	}
	if ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	if _, noCookie := r.Cookie(sessionCookie); noCookie != nil {
		if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
			// A link from another site: the browser kept the SameSite=Strict
			// cookie back. Reload from here, where it sends it, so that a
			// logged-in reviewer is not asked for the key again.
			return s.render(w, r, http.StatusOK, "reload", layout{Title: "Log in", Data: loginPath + "?next=" + url.QueryEscape(next)})
		}
	}
	return s.render(w, r, http.StatusOK, "login", layout{Title: "Log in", Data: loginView{Next: next}})
}

func (s *Server) postLogin(w http.ResponseWriter, r *http.Request, _ Principal) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return bodyError(err)
	}
	next := safeNext(r.PostForm.Get("next"))
	token := strings.TrimSpace(r.PostForm.Get("key"))
	fail := func(msg string) error {
		return s.render(w, r, http.StatusUnauthorized, "login", layout{Title: "Log in", Data: loginView{Next: next, Error: msg}})
	}
	if token == "" {
		return fail("Enter an API key.")
	}
	if len(token) > 1024 || strings.ContainsFunc(token, func(c rune) bool { return c <= ' ' || c > '~' || c == ';' || c == '"' || c == ',' || c == '\\' }) {
		return fail("That is not an API key.")
	}
	if _, err := s.cfg.Auth.Authenticate(r.Context(), token); err != nil {
		if errors.Is(err, ErrUnauthorized) {
			return fail("That key is unknown or revoked.")
		}
		return err
	}
	setSession(w, r, token)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (s *Server) postLogout(w http.ResponseWriter, r *http.Request, _ Principal) error {
	clearSession(w, r)
	http.Redirect(w, r, loginPath, http.StatusSeeOther)
	return nil
}
