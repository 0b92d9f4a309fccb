# extractor: the two set-up commands on a fresh Debian machine are
#   make demo   extract the bundled sample invoices into PostgreSQL+pgvector, then search and ask them
#   make test   install what is missing, start PostgreSQL+pgvector, vet and test
.DEFAULT_GOAL := help
SHELL := /bin/bash

GO        ?= go
FUZZTIME  ?= 60s
BENCHTIME ?= 1x

.PHONY: help demo test e2e build bench fuzz lint conformance db-start db-stop samples eval eval-baseline

help:
	@echo "make demo    install what is missing, start the project's PostgreSQL+pgvector, extract the sample invoices"
	@echo "             (testdata/invoices) into it, print their key fields, search and ask them"
	@echo "make test    install missing system packages, start a local PostgreSQL with pgvector, go vet, go test"
	@echo "make e2e     the web pages end to end in headless Chromium (installed when missing); screenshots in .local/e2e"
	@echo "make bench   parse benchmark against pdftotext -layout (needs ../shared/corpus)"
	@echo "make fuzz    run each fuzz target for FUZZTIME (default $(FUZZTIME))"
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
	$(GO) test ./extract/pdf -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./extract/pdf -run '^$$' -fuzz '^FuzzContent$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./extract/pdf -run '^$$' -fuzz '^FuzzCMap$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./extract -run '^$$' -fuzz '^FuzzParseSchema$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./extract -run '^$$' -fuzz '^FuzzToolArguments$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./extract -run '^$$' -fuzz '^FuzzNormalize$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./extract/ocr -run '^$$' -fuzz '^FuzzParseTSV$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
	$(GO) test ./extract/ocr -run '^$$' -fuzz '^FuzzImageHeaders$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s

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
