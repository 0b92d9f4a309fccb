package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/extractor-dev/extractor/internal/synth"
)

func (m *Main) synthCommand() *cobra.Command {
	var opts synth.Options
	var out string
	var wide bool
	cmd := &cobra.Command{
		Use:   "synth --out DIR",
		Short: "Write synthetic invoice PDFs with their labels (dataset format)",
		Long: `Write synthetic invoices (six layouts; English, German and French; several
currencies; some over several pages; optional noise) and their ground truth as a
dataset folder: DIR/dataset.jsonl and DIR/files/synth/*.pdf. The same seed and
count always give byte-identical files, so they serve as fixtures and benchmarks.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageError{fmt.Errorf("--out is required")}
			}
			if opts.Count < 1 || opts.Count > synth.MaxCount {
				return usageError{fmt.Errorf("--count must be between 1 and %d", synth.MaxCount)}
			}
			if wide {
				opts.Set = synth.SetWide
			}
			if err := synth.Generate(out, opts); err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "wrote %d invoices to %s\n", opts.Count, out)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&out, "out", "", "dataset folder to write")
	fl.Int64Var(&opts.Seed, "seed", 1, "seed; the same seed gives the same documents")
	fl.IntVar(&opts.Count, "count", 20, "number of invoices")
	fl.BoolVar(&opts.Noise, "noise", true, "add footer small print and rotated stamps to some documents")
	fl.BoolVar(&wide, "wide", false, "draw from the wide set: twelve layouts, six languages, labels from the lexicon")
	return cmd
}
