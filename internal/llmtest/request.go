package llmtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Recorded is one HTTP request as the server received it.
type Recorded struct {
	Method string
	Path   string      // URL path, e.g. "/v1/chat/completions"
	Header http.Header // a copy; Header.Get("Authorization") is "Bearer <key>"
	Body   []byte      // the raw body, byte for byte

	// Exactly one of Chat and Embed is set when the body was a well-formed
	// request for that endpoint; both are nil otherwise.
	Chat  *ChatRequest
	Embed *EmbedRequest
}

// ChatRequest is the decoded body of a POST /v1/chat/completions, reduced
// to the fields tests assert on. Pointer fields are nil when the client did
// not send them, so "absent" and "zero" stay distinguishable. Anything else
// is in Raw.
type ChatRequest struct {
	// Index counts chat requests on this server: 1 for the first one.
	Index int `json:"-"`
	// Raw is the whole request body.
	Raw json.RawMessage `json:"-"`

	Model               string          `json:"model"`
	Messages            []Message       `json:"messages"`
	Tools               []Tool          `json:"tools,omitempty"`
	ToolChoice          json.RawMessage `json:"tool_choice,omitempty"` // a string ("auto", "required") or an object
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	Seed                *int            `json:"seed,omitempty"`
	MaxTokens           *int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int            `json:"max_completion_tokens,omitempty"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls,omitempty"`
	ResponseFormat      json.RawMessage `json:"response_format,omitempty"`
	Stream              bool            `json:"stream,omitempty"`
}

// Message is one chat message of a request.
type Message struct {
	Role string `json:"role"`
	// Content is the text of the message: the string content, or the text
	// parts of an array content concatenated; "" when content is null or
	// absent. RawContent tells those cases apart.
	Content    string          `json:"content"`
	RawContent json.RawMessage `json:"-"` // content exactly as sent; nil when absent
	Name       string          `json:"name,omitempty"`
	ToolCalls  []Call          `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
}

// UnmarshalJSON accepts content as a string, an array of parts or null.
func (m *Message) UnmarshalJSON(data []byte) error {
	var w struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		Name       string          `json:"name"`
		ToolCalls  []Call          `json:"tool_calls"`
		ToolCallID string          `json:"tool_call_id"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	text, err := contentText(w.Content)
	if err != nil {
		return fmt.Errorf("message with role %q: %w", w.Role, err)
	}
	*m = Message{
		Role:       w.Role,
		Content:    text,
		RawContent: w.Content,
		Name:       w.Name,
		ToolCalls:  w.ToolCalls,
		ToolCallID: w.ToolCallID,
	}
	return nil
}

func contentText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case '[':
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(raw, &parts); err != nil {
			return "", err
		}
		var b strings.Builder
		for _, p := range parts {
			if p.Type == "text" {
				b.WriteString(p.Text)
			}
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("content is neither a string, an array nor null: %.40s", raw)
}

// Call is one tool call, flattened from the wire shape
// {"id", "type", "function": {"name", "arguments"}}. It appears in
// requests (assistant messages sent back) and in replies (see ToolCalls).
type Call struct {
	ID        string // empty in a reply: the server generates one
	Type      string // "function"; empty in a reply means "function"
	Name      string
	Arguments string // JSON text, passed through untouched (it may be malformed on purpose)
}

type wireCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function wireFunction `json:"function"`
}

type wireFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// MarshalJSON writes the wire shape.
func (c Call) MarshalJSON() ([]byte, error) {
	return json.Marshal(wireCall{ID: c.ID, Type: c.Type, Function: wireFunction{Name: c.Name, Arguments: c.Arguments}})
}

// UnmarshalJSON reads the wire shape.
func (c *Call) UnmarshalJSON(data []byte) error {
	var w wireCall
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*c = Call{ID: w.ID, Type: w.Type, Name: w.Function.Name, Arguments: w.Function.Arguments}
	return nil
}

// Tool is one entry of a request's tools.
type Tool struct {
	Type     string   `json:"type"`
	Function Function `json:"function"`
}

// Function is the function definition of a Tool.
type Function struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Strict      bool            `json:"strict,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"` // the JSON Schema as sent
}

// EmbedRequest is the decoded body of a POST /v1/embeddings.
type EmbedRequest struct {
	// Index counts embedding requests on this server: 1 for the first one.
	Index int `json:"-"`
	// Raw is the whole request body.
	Raw json.RawMessage `json:"-"`

	Model string `json:"model"`
	// Input holds text inputs: a single string input becomes one element.
	Input []string `json:"-"`
	// Tokens holds token-array inputs ([]int or [][]int on the wire).
	Tokens         [][]int `json:"-"`
	EncodingFormat string  `json:"encoding_format,omitempty"` // "", "float" or "base64"
	Dimensions     int     `json:"dimensions,omitempty"`
	User           string  `json:"user,omitempty"`
}

// UnmarshalJSON accepts input as a string, []string, []int or [][]int.
func (e *EmbedRequest) UnmarshalJSON(data []byte) error {
	type plain EmbedRequest // no methods: avoids recursion
	var w struct {
		plain
		Input json.RawMessage `json:"input"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*e = EmbedRequest(w.plain)
	raw := bytes.TrimSpace(w.Input)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return fmt.Errorf("input is missing")
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		e.Input = []string{one}
		return nil
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		e.Input = many
		return nil
	}
	var tokens []int
	if json.Unmarshal(raw, &tokens) == nil {
		e.Tokens = [][]int{tokens}
		return nil
	}
	var batches [][]int
	if err := json.Unmarshal(raw, &batches); err != nil {
		return fmt.Errorf("input is neither text nor tokens: %w", err)
	}
	e.Tokens = batches
	return nil
}
