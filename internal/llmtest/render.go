package llmtest

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"strconv"
)

type chatResponse struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   chatUsage    `json:"usage"`
}

type chatChoice struct {
	Index        int              `json:"index"`
	Message      assistantMessage `json:"message"`
	Logprobs     *struct{}        `json:"logprobs"` // always null
	FinishReason string           `json:"finish_reason"`
}

type assistantMessage struct {
	Role      string  `json:"role"`
	Content   *string `json:"content"` // null unless set
	ToolCalls []Call  `json:"tool_calls,omitempty"`
}

type chatUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type embedResponse struct {
	Object string       `json:"object"`
	Data   []embedDatum `json:"data"`
	Model  string       `json:"model"`
	Usage  embedUsage   `json:"usage"`
}

type embedDatum struct {
	Object    string `json:"object"`
	Embedding any    `json:"embedding"` // []float32 or a base64 string
	Index     int    `json:"index"`
}

type embedUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// renderChat turns a script's reply into an answer. It runs under
// scriptMu, which guards the tool-call id counter.
func (s *Server) renderChat(req ChatRequest, r Reply) answer {
	switch r.kind {
	case kindChat:
	case kindEmbed:
		s.tb.Errorf("llmtest: chat request %d was answered with Embeddings", req.Index)
		return errorAnswer(http.StatusInternalServerError, "llmtest: chat answered with embeddings", "")
	case kindNone:
		s.tb.Errorf("llmtest: chat request %d was answered with the zero Reply", req.Index)
		return errorAnswer(http.StatusInternalServerError, "llmtest: zero Reply", "")
	default:
		return s.renderOther(r)
	}

	calls := make([]Call, len(r.calls))
	answered := 0
	for i, c := range r.calls {
		if c.ID == "" {
			s.ids++
			c.ID = "call_" + strconv.Itoa(s.ids)
			if r.bareIDs {
				c.ID = bareID(s.ids)
			}
		}
		if c.Type == "" {
			c.Type = "function"
		}
		calls[i] = c
		answered += len(c.Name) + len(c.Arguments)
	}
	if r.content != nil {
		answered += len(*r.content)
	}
	u := usage{prompt: tokens(len(req.Raw)), completion: tokens(answered)}
	if r.usage != nil {
		u = *r.usage
	}
	model := req.Model
	if r.model != "" {
		model = r.model
	}
	resp := chatResponse{
		ID:      "chatcmpl-fake-" + strconv.Itoa(req.Index),
		Object:  "chat.completion",
		Created: Created,
		Model:   model,
		Choices: []chatChoice{{
			Message:      assistantMessage{Role: "assistant", Content: r.content, ToolCalls: calls},
			FinishReason: r.finish,
		}},
		Usage: chatUsage{PromptTokens: u.prompt, CompletionTokens: u.completion, TotalTokens: u.prompt + u.completion},
	}
	return s.jsonAnswer(r, resp)
}

func (s *Server) renderEmbed(req EmbedRequest, r Reply) answer {
	switch r.kind {
	case kindEmbed:
	case kindChat:
		s.tb.Errorf("llmtest: embeddings request %d was answered with a chat Reply", req.Index)
		return errorAnswer(http.StatusInternalServerError, "llmtest: embeddings answered with chat", "")
	case kindNone:
		s.tb.Errorf("llmtest: embeddings request %d was answered with the zero Reply", req.Index)
		return errorAnswer(http.StatusInternalServerError, "llmtest: zero Reply", "")
	default:
		return s.renderOther(r)
	}

	data := make([]embedDatum, len(r.vectors))
	for i, v := range r.vectors {
		var e any = v
		if req.EncodingFormat == "base64" {
			e = base64Floats(v)
		}
		data[i] = embedDatum{Object: "embedding", Embedding: e, Index: i}
	}
	prompt := 0
	for _, text := range req.Input {
		prompt += tokens(len(text))
	}
	for _, t := range req.Tokens {
		prompt += len(t)
	}
	total := prompt
	if r.usage != nil {
		prompt, total = r.usage.prompt, r.usage.prompt+r.usage.completion
	}
	model := req.Model
	if r.model != "" {
		model = r.model
	}
	resp := embedResponse{Object: "list", Data: data, Model: model, Usage: embedUsage{PromptTokens: prompt, TotalTokens: total}}
	return s.jsonAnswer(r, resp)
}

// renderOther renders the replies that are the same on every endpoint.
func (s *Server) renderOther(r Reply) answer {
	var a answer
	switch r.kind {
	case kindStatus:
		a = statusAnswer(r)
	case kindRaw:
		a = answer{status: r.status, body: []byte(r.body)}
	case kindHang:
		a = answer{hang: true}
	}
	a.header = r.header
	a.delay = r.delay
	return a
}

// jsonAnswer encodes a success body with the reply's extra fields, headers
// and delay.
func (s *Server) jsonAnswer(r Reply, resp any) answer {
	body, err := json.Marshal(resp)
	if err == nil && len(r.extra) > 0 {
		body, err = withExtra(body, r.extra)
	}
	if err != nil {
		s.tb.Errorf("llmtest: encoding the response: %v", err)
		return errorAnswer(http.StatusInternalServerError, "llmtest: encoding the response failed", "")
	}
	return answer{status: http.StatusOK, header: r.header, body: body, delay: r.delay}
}

func withExtra(body []byte, extra map[string]any) ([]byte, error) {
	var fields map[string]any
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, err
	}
	for k, v := range extra {
		fields[k] = v
	}
	return json.Marshal(fields)
}

// statusAnswer renders a Status reply.
func statusAnswer(r Reply) answer {
	if !r.llama {
		return errorBody(r.status, r.message, r.errType, r.errCode)
	}
	typ := r.errType
	if typ == "" {
		typ = llamaErrorType(r.status)
	}
	body, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code": r.status, "message": r.message, "type": typ,
	}})
	return answer{status: r.status, body: body}
}

// llamaErrorType returns the error type llama-server sends with a status.
func llamaErrorType(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusNotImplemented:
		return "not_supported_error"
	case http.StatusServiceUnavailable:
		return "unavailable_error"
	}
	if status >= 500 {
		return "server_error"
	}
	return "invalid_request_error"
}

// errorAnswer renders the server's own OpenAI-style errors.
func errorAnswer(status int, message, code string) answer {
	return errorBody(status, message, "", code)
}

// errorBody renders an OpenAI-style error body. An empty type or code
// defaults to the one OpenAI sends for the status; a code without a
// default is null.
func errorBody(status int, message, typ, code string) answer {
	defaultType, defaultCode := errorKind(status)
	if typ == "" {
		typ = defaultType
	}
	if code == "" {
		code = defaultCode
	}
	e := struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	}{Message: message, Type: typ}
	if code != "" {
		e.Code = &code
	}
	body, _ := json.Marshal(map[string]any{"error": e}) // strings always encode
	return answer{status: status, body: body}
}

func errorKind(status int) (typ, code string) {
	switch {
	case status == http.StatusUnauthorized:
		return "invalid_request_error", "invalid_api_key"
	case status == http.StatusTooManyRequests:
		return "requests", "rate_limit_exceeded"
	case status >= 500:
		return "server_error", ""
	default:
		return "invalid_request_error", ""
	}
}

// tokens estimates a token count from a byte count: about four bytes a
// token, at least one.
func tokens(n int) int {
	return max(1, (n+3)/4)
}

// bareID returns the n-th llama-server style tool-call id: 32 alphanumerics.
func bareID(n int) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	sum := sha256.Sum256([]byte("llmtest tool call " + strconv.Itoa(n)))
	id := make([]byte, len(sum))
	for i, b := range sum {
		id[i] = alphabet[int(b)%len(alphabet)]
	}
	return string(id)
}
