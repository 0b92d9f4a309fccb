package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/extractor-dev/extractor/extract"
	"github.com/extractor-dev/extractor/server"
	"github.com/extractor-dev/extractor/store"
	"github.com/extractor-dev/extractor/tracing"
)

type askFlags struct {
	queryFlags
	baseURL, model string
	capture        bool
}

func (m *Main) askCommand() *cobra.Command {
	var f askFlags
	cmd := &cobra.Command{
		Use:   `ask "QUESTION"`,
		Short: "Answer a question from the stored documents, citing the chunks and pages used",
		Long: `Retrieve the chunks that best match the question (as 'extractor search' does),
then have the LLM answer from those chunks only. The answer cites the chunk
ids it relies on, with a verbatim quote from each; every quote is checked
against its chunk, and problems (a quote that is not in its chunk, an answer
with no checkable citation) are printed with it. When the chunks do not hold
the answer, it says so rather than guess.

The LLM is configured as for 'extractor run' (--llm-base-url, --llm-model, the
config file's llm: section or EXTRACTOR_LLM_BASE_URL and EXTRACTOR_LLM_MODEL;
the key from EXTRACTOR_LLM_API_KEY or OPENAI_API_KEY). Without one, ask prints
the retrieved passages for you to read.

Retrieval, the query's embedding and every model call are traced (spans in the
state directory's queries/spans.jsonl, the database and OTLP when configured);
the trace id is printed last.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			mode, filter, err := f.check()
			if err != nil {
				return err
			}
			return m.runAsk(cmd.Context(), args[0], f, mode, filter)
		},
	}
	m.addQueryFlags(cmd, &f.queryFlags, 6)
	fl := cmd.Flags()
	fl.StringVar(&f.baseURL, "llm-base-url", "", "OpenAI-compatible API base URL (env EXTRACTOR_LLM_BASE_URL)")
	fl.StringVar(&f.model, "llm-model", "", "model name (env EXTRACTOR_LLM_MODEL)")
	fl.BoolVar(&f.capture, "capture-content", false, "record the question, prompts and answers on spans")
	return cmd
}

// askResult is what -o json prints.
type askResult struct {
	Question string          `json:"question"`
	Answer   *extract.Answer `json:"answer,omitempty"`
	// Note says why there is no answer (no LLM configured).
	Note     string             `json:"note,omitempty"`
	Passages []server.SearchHit `json:"passages"`
	TraceID  string             `json:"trace_id"`
}

func (m *Main) runAsk(ctx context.Context, question string, f askFlags, mode store.Mode, filter store.Filter) (err error) {
	q, err := m.openQuery(ctx, f.queryFlags)
	if err != nil {
		return err
	}
	s := m.settings(runFlags{baseURL: f.baseURL, model: f.model, captureContent: f.capture}, q.cfg)
	var llm *extract.LLM
	if s.LLM.BaseURL != "" && s.LLM.Model != "" {
		if llm, err = m.newLLM(s, q.tp); err != nil {
			q.close()
			return err
		}
	}
	ctx, span := q.tracer.Start(ctx, "ask", trace.WithNewRoot(), trace.WithAttributes(
		attribute.Int("extractor.ask.question_chars", len(question)), attribute.Bool("extractor.ask.llm", llm != nil)))
	if f.capture {
		span.SetAttributes(attribute.String("extractor.ask.question", question))
	}
	res := askResult{Question: question, TraceID: span.SpanContext().TraceID().String(), Passages: []server.SearchHit{}}
	hits, note, err := q.retrieve(ctx, question, f.queryFlags, mode, filter)
	if err == nil {
		for i, h := range hits {
			res.Passages = append(res.Passages, hitJSON(i+1, h))
		}
		if llm == nil {
			res.Note = "no LLM configured (--llm-base-url and --llm-model): these are the retrieved passages"
		} else {
			var a extract.Answer
			a, err = answer(ctx, q.tracer, llm, question, hits)
			res.Answer = &a
		}
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	} else if res.Answer != nil {
		span.SetAttributes(attribute.Bool("extractor.ask.found", res.Answer.Found),
			attribute.Int("extractor.ask.citations", len(res.Answer.Citations)),
			attribute.Int("extractor.ask.problems", len(res.Answer.Problems)))
	}
	span.End()
	if cerr := q.close(); cerr != nil {
		fmt.Fprintln(m.Stderr, "extractor: tracing:", cerr)
	}
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(m.Stderr, "extractor:", note)
	}
	if f.output == "json" {
		return writeJSONLine(m.Stdout, res)
	}
	writeAnswer(m.Stdout, res, hits)
	return nil
}

// answer asks the model, in an "answer" span whose children are the model
// calls.
func answer(ctx context.Context, tracer trace.Tracer, llm *extract.LLM, question string, hits []store.Hit) (extract.Answer, error) {
	ctx, span := tracer.Start(ctx, "answer", trace.WithAttributes(attribute.Int("extractor.ask.passages", len(hits))))
	defer span.End()
	passages := make([]extract.Passage, len(hits))
	for i, h := range hits {
		passages[i] = extract.Passage{ChunkID: h.ChunkID, DocumentID: h.DocumentID, Source: h.Source, Page: h.Page, Text: h.Text}
	}
	a, err := llm.Answer(ctx, question, passages)
	span.SetAttributes(tracing.UsageInputTokens.Int(a.Usage.InputTokens), tracing.UsageOutputTokens.Int(a.Usage.OutputTokens))
	if a.Usage.Prices != "" {
		span.SetAttributes(tracing.CostUSD.Float64(a.Usage.CostUSD))
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return a, err
}

// writeAnswer prints an answer and its citations, or the passages when
// there is no answer to give.
func writeAnswer(w io.Writer, res askResult, hits []store.Hit) {
	switch a := res.Answer; {
	case a == nil:
		fmt.Fprintf(w, "%s\n\n", res.Note)
		if len(hits) == 0 {
			fmt.Fprintln(w, "no chunks match")
		}
		writeHits(w, hits)
	case len(hits) == 0:
		fmt.Fprintln(w, "No stored chunk matches the question: nothing to answer from.")
	case !a.Found:
		fmt.Fprintf(w, "The answer is not in the %d retrieved passages.\n", len(hits))
		for _, h := range hits {
			fmt.Fprintf(w, "  searched: %s page %d (chunk %s)\n", filepath.Base(h.Source), h.Page, h.ChunkID)
		}
	default:
		fmt.Fprintf(w, "%s\n", a.Text)
		if len(a.Citations) > 0 {
			fmt.Fprintln(w, "\nSources:")
		}
		for i, c := range a.Citations {
			check := "quote checked"
			if !c.Grounded {
				check = "QUOTE NOT FOUND in the chunk"
			}
			fmt.Fprintf(w, "  [%d] %s page %d, chunk %s (%s): %q\n", i+1, filepath.Base(c.Source), c.Page, c.ChunkID, check, snippet(c.Quote, 160))
		}
	}
	if a := res.Answer; a != nil {
		for _, p := range a.Problems {
			fmt.Fprintf(w, "problem: %s\n", p)
		}
		fmt.Fprintf(w, "model %s, %d+%d tokens, %s\n", a.Model, a.Usage.InputTokens, a.Usage.OutputTokens, formatCost(a.Usage))
	}
	fmt.Fprintf(w, "trace %s\n", res.TraceID)
}
