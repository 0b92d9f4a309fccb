# extractor: the two set-up commands on a fresh Debian machine are
#   make demo   extract the bundled sample invoices into PostgreSQL+pgvector, then search and ask them
#   make test   install what is missing, start PostgreSQL+pgvector, vet and test
.DEFAULT_GOAL := help
SHELL := /bin/bash

GO        ?= go
FUZZTIME  ?= 60s
BENCHTIME ?= 1x
DRILL_N   ?= 3000

.PHONY: help demo test e2e build bench fuzz drill lint conformance db-start db-stop samples eval eval-baseline

help:
	@echo "make demo    install what is missing, start the project's PostgreSQL+pgvector, extract the sample invoices"
	@echo "             (testdata/invoices) into it, print their key fields, search and ask them"
	@echo "make test    install missing system packages, start a local PostgreSQL with pgvector, go vet, go test"
	@echo "make e2e     the web pages end to end in headless Chromium (installed when missing); screenshots in .local/e2e"
	@echo "make bench   parse benchmark against pdftotext -layout (needs ../shared/corpus)"
	@echo "make fuzz    run every fuzz target for FUZZTIME (default $(FUZZTIME))"
	@echo "make drill   the mutation drill: DRILL_N (default $(DRILL_N)) mutants of the corpus, in process and isolated"
	@echo "make lint    gofmt, go vet and staticcheck"
	@echo "make eval    the eval gate of make test: rules extractor on ../shared/corpus/public vs the committed baseline"
	@echo "make eval-baseline  rewrite testdata/eval/public-rules.json after a deliberate change"
	@echo "make build   build bin/extractor"
	@echo "make conformance  run the extractor against a real llama-server with a tiny random model (first build 10-20 min)"

demo:
	scripts/demo.sh

test:
	scripts/test.sh

e2e:
	scripts/e2e.sh

conformance:
	scripts/conformance.sh

eval:
	scripts/eval.sh

eval-baseline:
	scripts/eval.sh --update

build:
	$(GO) build -o bin/extractor ./cmd/extractor

bench:
	$(GO) test ./bench -run '^$$' -bench . -benchtime $(BENCHTIME)

fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

# The mutation drill: DRILL_N deterministic mutants of the corpus and the
# samples (flips, truncations, cut and doubled ranges, mangled /Length,
# /Size, /Count, /W, /Index, xref and obj numbers, self-referencing /Parent
# and /Kids, broken headers), each parsed in a fresh process, in process
# and isolated; a table of outcomes, escaped panics, fatal errors, hangs
# and peak memory.
drill:
	$(GO) test ./extract/pdf -run '^TestMutationDrill$$' -drill $(DRILL_N) -count=1 -timeout 4h -v

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Start or stop the project-local database by hand (make test and make demo
# do both). db-start prints the export line of the demo database:
#   eval "$(make -s db-start)"
db-start:
	@EXTRACTOR_PG_DB=extractor_demo scripts/pg.sh start
db-stop:
	@scripts/pg.sh stop

# Regenerate the committed sample invoices after a deliberate generator change.
samples:
	$(GO) run ./cmd/extractor synth --out testdata/invoices --seed 1 --count 20
