package llmtest

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"
)

type replyKind int

const (
	kindNone replyKind = iota // the zero Reply: a script bug
	kindChat
	kindEmbed
	kindStatus
	kindRaw
	kindHang
)

// Reply is what the server answers to one request. Build it with ToolCall,
// ToolCalls, Text, Truncated, Embeddings, Status, Raw or Hang, then adjust
// it with the methods, which return a modified copy:
//
//	llmtest.Status(429, "slow down").RetryAfter(2)
//	llmtest.ToolCall("extract", `{"total": 12}`).LlamaServer().Usage(900, 40)
type Reply struct {
	kind replyKind

	// chat
	content *string // nil encodes as null
	calls   []Call
	finish  string
	bareIDs bool
	llama   bool // error bodies in llama-server's shape

	// embeddings
	vectors [][]float32

	// chat and embeddings
	usage *usage
	model string
	extra map[string]any

	// errors and raw bodies
	status  int
	message string
	errType string
	errCode string
	body    string

	// any kind
	header http.Header
	delay  time.Duration
}

type usage struct{ prompt, completion int }

// ToolCall answers a chat request with an assistant message holding one
// tool call: content null, finish_reason "tool_calls". The call id is
// generated ("call_1", "call_2", ... counted per server); use ToolCalls to
// choose it.
func ToolCall(name, argumentsJSON string) Reply {
	return ToolCalls(Call{Name: name, Arguments: argumentsJSON})
}

// ToolCalls answers a chat request with one assistant message holding the
// given tool calls, in order. Empty ids are generated as in ToolCall.
func ToolCalls(calls ...Call) Reply {
	return Reply{kind: kindChat, calls: slices.Clone(calls), finish: "tool_calls"}
}

// Text answers a chat request with plain assistant text and no tool call:
// finish_reason "stop".
func Text(content string) Reply {
	return Reply{kind: kindChat, content: &content, finish: "stop"}
}

// Truncated answers a chat request the way llama-server does when the
// token limit cuts a tool call off: the partial text in content, no
// tool_calls, finish_reason "length".
func Truncated(partial string) Reply {
	return Reply{kind: kindChat, content: &partial, finish: "length"}
}

// Embeddings answers an embeddings request with the given vectors, as
// data[0], data[1], ... They are sent as given, even if their number does not
// match the inputs; encoded as floats or base64 as the request asks.
func Embeddings(vectors ...[]float32) Reply {
	return Reply{kind: kindEmbed, vectors: slices.Clone(vectors)}
}

// Status answers with an HTTP error status and an OpenAI-style error body
// {"error": {"message", "type", "param", "code"}}, with the type (and for
// 401 and 429 the code) that OpenAI sends for that status.
func Status(code int, message string) Reply {
	return Reply{kind: kindStatus, status: code, message: message}
}

// Raw answers with the status and the body exactly as given, with
// Content-Type application/json: for malformed JSON or a proxy's HTML page.
func Raw(code int, body string) Reply {
	return Reply{kind: kindRaw, status: code, body: body}
}

// Hang never answers: the handler waits until the client gives up (the
// request context is done) or the server closes.
func Hang() Reply {
	return Reply{kind: kindHang}
}

// Usage sets the token counts of a chat or embeddings reply (total is their
// sum). By default they are derived from the sizes of request and answer,
// about four bytes a token, so they are deterministic.
func (r Reply) Usage(promptTokens, completionTokens int) Reply {
	r.usage = &usage{prompt: promptTokens, completion: completionTokens}
	return r
}

// Delay makes the server wait d before answering. The wait ends early,
// without an answer, when the client gives up or the server closes.
func (r Reply) Delay(d time.Duration) Reply {
	r.delay = d
	return r
}

// Header adds a response header.
func (r Reply) Header(key, value string) Reply {
	h := r.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Add(key, value)
	r.header = h
	return r
}

// RetryAfter adds a Retry-After header, in seconds.
func (r Reply) RetryAfter(seconds int) Reply {
	return r.Header("Retry-After", strconv.Itoa(seconds))
}

// ErrorType sets the "type" of a Status error body, e.g.
// "exceed_context_size_error".
func (r Reply) ErrorType(typ string) Reply {
	r.errType = typ
	return r
}

// ErrorCode sets the "code" of a Status error body, e.g.
// "context_length_exceeded". With LlamaServer the code is always the
// numeric status.
func (r Reply) ErrorCode(code string) Reply {
	r.errCode = code
	return r
}

// Model sets the response's "model"; by default it echoes the request's.
func (r Reply) Model(name string) Reply {
	r.model = name
	return r
}

// Finish sets finish_reason, e.g. "content_filter".
func (r Reply) Finish(reason string) Reply {
	r.finish = reason
	return r
}

// Content sets the assistant content, also alongside tool calls (where it
// is null by default). Content("") mimics llama-server.
func (r Reply) Content(text string) Reply {
	r.content = &text
	return r
}

// BareIDs makes generated tool-call ids look like llama-server's: 32
// alphanumerics, no "call_" prefix, deterministic per server.
func (r Reply) BareIDs() Reply {
	r.bareIDs = true
	return r
}

// Extra adds a top-level field to a chat or embeddings response body.
func (r Reply) Extra(key string, value any) Reply {
	m := maps.Clone(r.extra)
	if m == nil {
		m = map[string]any{}
	}
	m[key] = value
	r.extra = m
	return r
}

// LlamaModel is the model name that LlamaServer puts in responses.
const LlamaModel = "qwen2.5-7b-instruct-q4_k_m.gguf"

// LlamaServer applies the quirks of llama.cpp's llama-server: content ""
// instead of null next to tool calls, bare tool-call ids, the loaded model's
// file name as "model" whatever was requested, and the extra fields
// "system_fingerprint" and "timings". On a Status reply it sends
// llama-server's error body instead: {"error": {"code": <status as a
// number>, "message", "type"}} with its type names ("unavailable_error"
// for 503, ...), so go-openai's APIError.Code is an int.
func (r Reply) LlamaServer() Reply {
	r.llama = true
	if r.kind == kindStatus {
		return r
	}
	if r.content == nil && len(r.calls) > 0 {
		r = r.Content("")
	}
	r = r.BareIDs().Model(LlamaModel).Extra("system_fingerprint", "b5000-llmtest")
	return r.Extra("timings", map[string]any{
		"prompt_n": 120, "prompt_ms": 35.2, "prompt_per_token_ms": 0.29, "prompt_per_second": 3409.1,
		"predicted_n": 24, "predicted_ms": 410.5, "predicted_per_token_ms": 17.1, "predicted_per_second": 58.5,
	})
}
