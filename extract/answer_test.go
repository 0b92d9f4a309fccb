package extract

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/internal/llmtest"
)

var passages = []Passage{
	{ChunkID: "c1", DocumentID: "d1", Source: "a.pdf", Page: 1, Text: "Rechnung Nr. RE-1\nGesamtbetrag   1.234,56 €"},
	{ChunkID: "c2", DocumentID: "d2", Source: "b.pdf", Page: 2, Text: "IBAN: DE89 3704 0044 0532 0130 00"},
}

func answerArgs(found bool, answer any, cites ...[2]string) string {
	var cs []any
	for _, c := range cites {
		cs = append(cs, map[string]any{"chunk_id": c[0], "quote": c[1]})
	}
	if cs == nil {
		cs = []any{}
	}
	b, _ := json.Marshal(map[string]any{"found": found, "answer": answer, "citations": cs})
	return string(b)
}

func TestAnswer(t *testing.T) {
	tests := []struct {
		name        string
		reply       string
		found       bool
		grounded    []bool
		wantProblem string
	}{
		{"grounded answer", answerArgs(true, "1.234,56 €", [2]string{"c1", "Gesamtbetrag 1.234,56 €"}), true, []bool{true}, ""},
		{"not in the passages", answerArgs(false, nil), false, nil, ""},
		{"quote not in the passage", answerArgs(true, "999 €", [2]string{"c1", "Gesamtbetrag 999 €"}), true, []bool{false}, "not in it"},
		{"found but nothing cited", answerArgs(true, "1.234,56 €"), true, nil, "cites no passage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(t)
			srv.ChatSequence(llmtest.ToolCall("answer", tt.reply).Usage(500, 30))
			a, err := newTestLLM(t, srv, nil).Answer(context.Background(), "Wie hoch ist der Gesamtbetrag?", passages)
			if err != nil {
				t.Fatal(err)
			}
			if a.Found != tt.found || len(a.Citations) != len(tt.grounded) || a.Usage.InputTokens != 500 || a.PromptVersion == "" {
				t.Fatalf("answer = %+v", a)
			}
			for i, g := range tt.grounded {
				if a.Citations[i].Grounded != g || a.Citations[i].Page != passages[0].Page || a.Citations[i].Source != "a.pdf" {
					t.Errorf("citation %d = %+v", i, a.Citations[i])
				}
			}
			if got := strings.Join(a.Problems, "; "); (tt.wantProblem == "") != (got == "") || !strings.Contains(got, tt.wantProblem) {
				t.Errorf("problems = %q, want %q", got, tt.wantProblem)
			}
			if !tt.found && a.Text != "" {
				t.Errorf("an answer that was not found has text %q", a.Text)
			}
			req := srv.Requests()[0].Chat
			if req.Tools[0].Function.Name != "answer" || !strings.Contains(req.Messages[1].Content, "[c2] b.pdf, page 2:") {
				t.Errorf("request: tool %s, user %q", req.Tools[0].Function.Name, req.Messages[1].Content)
			}
		})
	}
}

// The tool only accepts the chunk ids it was given: a citation of another
// chunk is a schema violation, re-asked.
func TestAnswerRejectsUnknownChunks(t *testing.T) {
	srv := llmtest.NewServer(t)
	srv.ChatSequence(
		llmtest.ToolCall("answer", answerArgs(true, "x", [2]string{"c9", "anything"})),
		llmtest.ToolCall("answer", answerArgs(true, "DE89…", [2]string{"c2", "IBAN: DE89 3704 0044 0532 0130 00"})),
	)
	a, err := newTestLLM(t, srv, nil).Answer(context.Background(), "IBAN?", passages)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Attempts) != 2 || !strings.Contains(a.Attempts[0].Problem, "/citations/0/chunk_id") || !a.Citations[0].Grounded {
		t.Errorf("answer = %+v", a)
	}
	if a, err := newTestLLM(t, srv, nil).Answer(context.Background(), "?", nil); err != nil || a.Found || len(a.Problems) != 1 {
		t.Errorf("no passages: %+v, %v", a, err)
	}
}
