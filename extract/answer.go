package extract

import (
	"context"
	"fmt"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/extractor-dev/extractor/pipeline"
	"github.com/extractor-dev/extractor/prompts"
)

// Passage is a retrieved piece of a document an answer may use.
type Passage struct {
	ChunkID    string `json:"chunk_id"`
	DocumentID string `json:"document_id"`
	Source     string `json:"source"`
	Page       int    `json:"page"`
	Text       string `json:"text"`
}

// Citation ties an answer to a passage. Grounded: the quote is in the
// passage's text.
type Citation struct {
	ChunkID    string `json:"chunk_id"`
	DocumentID string `json:"document_id"`
	Source     string `json:"source"`
	Page       int    `json:"page"`
	Quote      string `json:"quote"`
	Grounded   bool   `json:"grounded"`
}

// Answer is a model's answer from passages, with its citations checked.
type Answer struct {
	Question  string     `json:"question"`
	Found     bool       `json:"found"`
	Text      string     `json:"answer"`
	Citations []Citation `json:"citations"`
	// Problems flag what cannot be trusted: citations of unknown chunks,
	// quotes not in their passage, an answer with no grounded citation.
	Problems      []string           `json:"problems,omitempty"`
	Model         string             `json:"model"`
	PromptVersion string             `json:"prompt_version"`
	Usage         pipeline.Usage     `json:"usage"`
	Attempts      []pipeline.Attempt `json:"attempts,omitempty"`
}

// Answer asks the model to answer the question from the passages only,
// citing the chunk ids and quoting them, and checks every citation
// against its passage. With no passages there is nothing to ask.
func (l *LLM) Answer(ctx context.Context, question string, passages []Passage) (Answer, error) {
	a := Answer{Question: question, Citations: []Citation{}, Model: l.cfg.Model}
	sys, err := prompts.Get("answer_system")
	if err != nil {
		return a, err
	}
	user, err := prompts.Get("answer_user")
	if err != nil {
		return a, err
	}
	a.PromptVersion = prompts.Version(sys, user, l.ask)
	if len(passages) == 0 {
		a.Problems = []string{"no passages were retrieved"}
		return a, nil
	}
	byID := map[string]Passage{}
	ids := make([]any, 0, len(passages))
	for _, p := range passages {
		if _, dup := byID[p.ChunkID]; !dup {
			ids = append(ids, p.ChunkID)
		}
		byID[p.ChunkID] = p
	}
	t, err := newCustomTool("answer", "Answer the question from the passages, with citations.", map[string]any{
		"type": "object",
		"properties": map[string]any{
			"found":  map[string]any{"type": "boolean"},
			"answer": nullable("string"),
			"citations": map[string]any{
				"type": "array",
				"items": map[string]any{
					"type": "object",
					"properties": map[string]any{
						"chunk_id": map[string]any{"type": "string", "enum": ids},
						"quote":    map[string]any{"type": "string"},
					},
					"required":             []string{"chunk_id", "quote"},
					"additionalProperties": false,
				},
			},
		},
		"required":             []string{"found", "answer", "citations"},
		"additionalProperties": false,
	})
	if err != nil {
		return a, err
	}
	sysText, err := sys.Render(map[string]any{"Tool": t.Name})
	if err != nil {
		return a, err
	}
	userText, err := user.Render(map[string]any{"Question": question, "Passages": passages})
	if err != nil {
		return a, err
	}
	args, usage, attempts, err := l.callTool(ctx, t, []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: sysText},
		{Role: openai.ChatMessageRoleUser, Content: userText},
	})
	a.Usage, a.Attempts = usage, attempts
	if err != nil {
		return a, err
	}
	a.Found, _ = args["found"].(bool)
	a.Text = str(args["answer"])
	cites, _ := args["citations"].([]any)
	grounded := 0
	for _, c := range cites {
		m, _ := c.(map[string]any)
		id, quote := str(m["chunk_id"]), str(m["quote"])
		p, ok := byID[id]
		if !ok {
			a.Problems = append(a.Problems, fmt.Sprintf("citation of chunk %q, which was not given", id))
			continue
		}
		cit := Citation{ChunkID: id, DocumentID: p.DocumentID, Source: p.Source, Page: p.Page, Quote: quote,
			Grounded: quote != "" && strings.Contains(collapse(p.Text), collapse(quote))}
		if cit.Grounded {
			grounded++
		} else {
			a.Problems = append(a.Problems, fmt.Sprintf("the quote cited from chunk %s is not in it", id))
		}
		a.Citations = append(a.Citations, cit)
	}
	if a.Found && grounded == 0 {
		a.Problems = append(a.Problems, "the answer cites no passage it can be checked against")
	}
	if !a.Found {
		a.Text = ""
	}
	return a, nil
}

// collapse folds case and runs of white space, as quotes are compared.
func collapse(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }
