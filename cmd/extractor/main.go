// Command extractor parses business PDFs into structured, traceable data.
//
// cmd/extractor is the only package that reads flags, environment
// variables and config files; it wires the library packages together.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/spf13/cobra"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"golang.org/x/term"

	"github.com/extractor-dev/extractor/extract/pdf"
	"github.com/extractor-dev/extractor/pipeline"
)

// childArg makes the binary act as the PDF parser's isolation child.
const childArg = "__parse-child"

func main() {
	if len(os.Args) == 2 && os.Args[1] == childArg {
		os.Exit(pdf.ServeChild(os.Stdin, os.Stdout))
	}
	// A first Ctrl-C (or SIGTERM) asks batches to stop starting documents
	// and let those in flight finish; a second one cancels them.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopping := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	m := NewMain()
	m.Stop = stopping
	go func() {
		<-sigs
		fmt.Fprintln(os.Stderr, "\nextractor: stopping after the documents in flight (Ctrl-C again to interrupt them)")
		close(stopping)
		<-sigs
		fmt.Fprintln(os.Stderr, "\nextractor: interrupting")
		cancel()
	}()
	os.Exit(m.Run(ctx, os.Args[1:]))
}

// Main is the program: its I/O and environment are fields, so tests run
// the whole CLI in process.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// ChildCommand runs the isolated PDF parser (this binary with childArg).
	ChildCommand []string
	// Terminal: Stderr is a terminal (progress bars instead of log lines).
	Terminal bool
	// Stop, when closed, asks batches to start no more documents.
	Stop <-chan struct{}
	// SpanExporters receive spans besides the run's span file (tests).
	SpanExporters []sdktrace.SpanExporter
	// Listening, when set, is told the address 'serve' listens on (tests
	// serve on 127.0.0.1:0).
	Listening func(net.Addr)

	poolMu sync.Mutex
	pool   *pdf.Pool // the isolated parser children (parsers)
}

// parsers returns the program's pool of isolated parser children, started
// on first use and ended when Run returns: every isolated parse of the
// program (run, eval, parse, serve, worker) goes through it, so a batch
// pays a child's start once per child, not once per file.
func (m *Main) parsers() *pdf.Pool {
	m.poolMu.Lock()
	defer m.poolMu.Unlock()
	if m.pool == nil {
		m.pool = pdf.NewPool(pdf.PoolConfig{Command: m.ChildCommand})
	}
	return m.pool
}

func (m *Main) closeParsers() {
	m.poolMu.Lock()
	defer m.poolMu.Unlock()
	if m.pool != nil {
		m.pool.Close()
		m.pool = nil
	}
}

// NewMain returns a Main wired to the process.
func NewMain() *Main {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return &Main{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Getenv:       os.Getenv,
		ChildCommand: []string{exe, childArg},
		Terminal:     term.IsTerminal(int(os.Stderr.Fd())),
	}
}

// Run executes the command line and returns the exit code: 0 on success,
// 1 when some input failed or on a runtime error, 2 for usage errors, 3
// when an eval's gate failed.
func (m *Main) Run(ctx context.Context, args []string) int {
	defer m.closeParsers()
	root := m.rootCommand()
	root.SetArgs(args)
	root.SetIn(m.Stdin)
	root.SetOut(m.Stdout)
	root.SetErr(m.Stderr)
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
		return 0
	case err == errSomeFailed:
		return 1
	case err == errGateFailed:
		fmt.Fprintln(m.Stderr, "extractor:", err)
		return 3
	default:
		fmt.Fprintln(m.Stderr, "extractor:", err)
		return exitCode(err)
	}
}

// exitCode maps the error kinds (pipeline.ErrInvalid and friends) to exit
// codes, in one place: what the user asked for is wrong or names nothing
// (2), or it failed (1).
func exitCode(err error) int {
	if errors.Is(err, pipeline.ErrInvalid) || errors.Is(err, pipeline.ErrNotFound) {
		return 2
	}
	return 1
}

// errSomeFailed: some inputs failed; their reasons were already printed.
var errSomeFailed = fmt.Errorf("some inputs failed")

// usageError is a usage error of the command line: a pipeline.ErrInvalid.
type usageError struct{ error }

func (u usageError) Unwrap() []error { return []error{u.error, pipeline.ErrInvalid} }

// usageArgs wraps a cobra argument check so its failures are usage errors.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{fmt.Errorf("%w (see '%s --help')", err, cmd.CommandPath())}
		}
		return nil
	}
}

func (m *Main) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "extractor",
		Short: "Turn folders of business PDFs into validated, traceable structured data",
		Long: `extractor parses PDFs into pages of text in reading order, extracts the fields of
a declared schema through LLM tool calls, embeds chunks into PostgreSQL with
pgvector, evaluates outputs against labelled data and traces every step.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q (see 'extractor --help')", args[0])}
			}
			return cmd.Help()
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(m.parseCommand(), m.runCommand(), m.evalCommand(), m.synthCommand(),
		m.runsCommand(), m.tracesCommand(), m.lineageCommand(), m.diffCommand(),
		m.dbCommand(), m.searchCommand(), m.askCommand(), m.serveCommand(), m.workerCommand(), m.keysCommand(), m.fitCommand(),
		m.exportCommand(), m.datasetCommand(), m.metricsCommand())
	return root
}
