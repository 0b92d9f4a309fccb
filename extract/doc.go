// Package extract owns extraction: what turns a parsed pipeline.Document
// into the fields of a schema, and the deterministic checks that follow.
//
//   - Schemas: YAML files (the built-in invoice and nda in schemas/, or a
//     caller's), checked and turned into pipeline.Schema.
//   - Extractors (pipeline.Extractor): LLM, tool calls to any
//     OpenAI-compatible API, re-asking with the exact problems, rate
//     limited, traced and priced; Rules, the offline, template-free
//     extractor for invoices, also the LLM's second opinion.
//   - Checks (pipeline.Validator): normalization (dates, money, IBANs, VAT
//     ids), grounding of every value in its quote on its page, business
//     rules (net + tax = total, dates in order), and each field's
//     confidence.
//   - Answer: answers to questions from retrieved passages, with citations
//     checked against them.
//
// It does not parse files (extract/pdf does), store anything (store
// does), choose an extractor or read keys and configuration (cmd does).
// Of our packages it imports pipeline, prompts and tracing, and the
// internal clients it shares with embed.
package extract
