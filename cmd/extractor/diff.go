package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/extractor-dev/extractor/pipeline"
)

// runDiff is what changed from one run to another.
type runDiff struct {
	A string `json:"a"`
	B string `json:"b"`
	// Versions are the manifests' versions that differ.
	Versions []versionChange `json:"versions"`
	// Documents are the documents whose status or values changed.
	Documents []documentDiff `json:"documents"`
	OnlyA     []documentRef  `json:"only_a"`
	OnlyB     []documentRef  `json:"only_b"`
	// Upstream groups the documents whose values did not change but whose
	// steps did (a new version, other inputs), by what changed.
	Upstream      []upstreamGroup `json:"upstream"`
	Compared      int             `json:"compared"`
	Changed       int             `json:"changed"`
	FieldsChanged int             `json:"fields_changed"`
	// CacheHitsB and StepsB: how many of run B's steps (of the documents
	// compared) came from the cache.
	CacheHitsB int `json:"cache_hits_b"`
	StepsB     int `json:"steps_b"`
}

type versionChange struct {
	Key string `json:"key"`
	Old string `json:"old"`
	New string `json:"new"`
	// Delta names the key=value tokens that differ, when the two
	// versions are of the same kind ("prompt=ab12 → cd34").
	Delta string `json:"delta"`
}

type documentRef struct {
	DocumentID string `json:"document_id"`
	File       string `json:"file"`
	Status     string `json:"status"`
}

type documentDiff struct {
	DocumentID string        `json:"document_id"`
	File       string        `json:"file"`
	OldStatus  string        `json:"old_status"`
	NewStatus  string        `json:"new_status"`
	Fields     []fieldChange `json:"fields"`
	Steps      []stepChange  `json:"steps"`
}

type fieldChange struct {
	Field string `json:"field"`
	// Kind is "changed", "added", "removed" or "grounded" (same value,
	// other grounding).
	Kind        string `json:"kind"`
	Old         string `json:"old"`
	New         string `json:"new"`
	OldGrounded bool   `json:"old_grounded"`
	NewGrounded bool   `json:"new_grounded"`
}

type stepChange struct {
	Step string `json:"step"`
	// Changes say what differs: the version's tokens, the inputs (and
	// which), the output, the cache.
	Changes []string `json:"changes"`
	// Substantive: something other than the cache status differs.
	Substantive bool `json:"-"`
}

func (s stepChange) String() string { return s.Step + ": " + strings.Join(s.Changes, "; ") }

type upstreamGroup struct {
	Documents int      `json:"documents"`
	Changes   []string `json:"changes"`
}

func (m *Main) diffCommand() *cobra.Command {
	var state string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "diff RUN_A RUN_B",
		Short: "Compare two runs: changed values, and the inputs and versions that changed with them",
		Long: `Compare two runs document by document (matched by document id, the file's
sha256): status changes, fields whose value or grounding changed, were added or
removed, and documents found in one run only. For each changed document, which
upstream step changed with it: a step version ("extract: prompt=ab12 → cd34"),
its inputs ("input changed (schema)"), its output, and whether it came from the
cache. The versions of the runs' manifests are compared too. Run ids may be
unique prefixes.`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			st := m.stateDir(state)
			var runs [2]*recordedRun
			for i, arg := range args {
				id, err := resolveRunID(st, arg)
				if err != nil {
					return err
				}
				if runs[i], err = openRecordedRun(st, id); err != nil {
					return err
				}
			}
			d := diffRuns(runs[0], runs[1])
			if asJSON {
				b, err := json.MarshalIndent(d, "", "  ")
				if err != nil {
					return err
				}
				_, err = m.Stdout.Write(append(b, '\n'))
				return err
			}
			return writeDiff(m.Stdout, d)
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "state directory (default .extractor, env EXTRACTOR_STATE)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the diff as JSON")
	return cmd
}

// stepInputs names, for each step, the steps whose outputs are among its
// inputs; takesSchema, the steps that read the schema too (see
// pipeline.Runner.Process).
var (
	stepInputs = map[string][]string{
		pipeline.StepChunk:    {pipeline.StepParse},
		pipeline.StepExtract:  {pipeline.StepParse},
		pipeline.StepSecond:   {pipeline.StepParse},
		pipeline.StepValidate: {pipeline.StepExtract, pipeline.StepSecond, pipeline.StepParse},
	}
	takesSchema = map[string]bool{pipeline.StepExtract: true, pipeline.StepSecond: true, pipeline.StepValidate: true}
)

func diffRuns(a, b *recordedRun) *runDiff {
	d := &runDiff{A: a.run.ID, B: b.run.ID, Versions: []versionChange{}, Documents: []documentDiff{},
		OnlyA: []documentRef{}, OnlyB: []documentRef{}, Upstream: []upstreamGroup{}}
	for _, k := range sortedKeys(mergeKeys(a.run.Versions, b.run.Versions)) {
		va, vb := a.run.Versions[k], b.run.Versions[k]
		if va != vb {
			d.Versions = append(d.Versions, versionChange{Key: k, Old: va, New: vb, Delta: versionDelta(va, vb)})
		}
	}
	schemaChanged := a.run.Versions["schema"] != b.run.Versions["schema"]

	byA, byB := map[string]recordedResult{}, map[string]recordedResult{}
	for _, r := range a.results {
		byA[r.Key()] = r
	}
	for _, r := range b.results {
		byB[r.Key()] = r
	}
	groups := map[string]int{}
	var groupOrder []string
	for _, ra := range a.results {
		rb, ok := byB[ra.Key()]
		if !ok {
			d.OnlyA = append(d.OnlyA, documentRef{ra.DocumentID, ra.File, ra.Status})
			continue
		}
		if byA[ra.Key()].File != ra.File {
			continue // the same bytes under another name: compared once
		}
		d.Compared++
		stepsA, stepsB := a.stepsOf(ra), b.stepsOf(rb)
		for _, s := range stepsB {
			d.StepsB++
			if s.CacheHit {
				d.CacheHitsB++
			}
		}
		dd := documentDiff{DocumentID: ra.DocumentID, File: rb.File, OldStatus: ra.Status, NewStatus: rb.Status,
			Fields: diffFields(ra, rb), Steps: diffSteps(stepsA, stepsB, schemaChanged)}
		if dd.OldStatus != dd.NewStatus || len(dd.Fields) > 0 {
			d.Changed++
			d.FieldsChanged += len(dd.Fields)
			d.Documents = append(d.Documents, dd)
			continue
		}
		var changes []string
		for _, s := range dd.Steps {
			if s.Substantive {
				changes = append(changes, s.String())
			}
		}
		if len(changes) > 0 {
			key := strings.Join(changes, "\n")
			if _, ok := groups[key]; !ok {
				groupOrder = append(groupOrder, key)
			}
			groups[key]++
		}
	}
	for _, k := range groupOrder {
		d.Upstream = append(d.Upstream, upstreamGroup{Documents: groups[k], Changes: strings.Split(k, "\n")})
	}
	for _, rb := range b.results {
		if _, ok := byA[rb.Key()]; !ok {
			d.OnlyB = append(d.OnlyB, documentRef{rb.DocumentID, rb.File, rb.Status})
		}
	}
	return d
}

func mergeKeys(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// diffFields compares the values of two results of one document.
func diffFields(a, b recordedResult) []fieldChange {
	var out []fieldChange
	for _, name := range sortedKeys(mergeFieldKeys(a.Fields, b.Fields)) {
		if c, ok := diffField(name, a.Fields[name], b.Fields[name]); ok {
			out = append(out, c)
		}
	}
	for _, list := range sortedKeys(mergeListKeys(a.Lists, b.Lists)) {
		la, lb := a.Lists[list], b.Lists[list]
		for i := range max(len(la), len(lb)) {
			// An element in one run only is one change, not one per field.
			path := fmt.Sprintf("%s[%d]", list, i)
			if i >= len(la) {
				out = append(out, fieldChange{Field: path, Kind: "added", New: itemText(lb[i]), NewGrounded: lb[i].Grounded})
				continue
			}
			if i >= len(lb) {
				out = append(out, fieldChange{Field: path, Kind: "removed", Old: itemText(la[i]), OldGrounded: la[i].Grounded})
				continue
			}
			fa, fb := la[i].Fields, lb[i].Fields
			for _, name := range sortedKeys(mergeFieldKeys(fa, fb)) {
				if c, ok := diffField(fmt.Sprintf("%s[%d].%s", list, i, name), fa[name], fb[name]); ok {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// itemText sums up a list element: its found fields as name=value.
func itemText(it pipeline.Item) string {
	var parts []string
	for _, name := range sortedKeys(it.Fields) {
		if f := it.Fields[name]; f.Found() {
			v := shownValue(f)
			if strings.ContainsAny(v, " \"=") || v == "" {
				v = strconv.Quote(v)
			}
			parts = append(parts, name+"="+v)
		}
	}
	return strings.Join(parts, " ")
}

func mergeFieldKeys(a, b map[string]pipeline.Field) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func mergeListKeys(a, b map[string][]pipeline.Item) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// shownValue is a field's value as diff prints it: the normalized value,
// or the raw one when it did not normalize, with its currency.
func shownValue(f pipeline.Field) string {
	v := firstNonEmpty(f.Value, f.Raw)
	if f.Currency != "" {
		v += " " + f.Currency
	}
	return v
}

func diffField(name string, a, b pipeline.Field) (fieldChange, bool) {
	c := fieldChange{Field: name, Old: shownValue(a), New: shownValue(b), OldGrounded: a.Grounded, NewGrounded: b.Grounded}
	switch {
	case !a.Found() && !b.Found():
		return c, false
	case !a.Found():
		c.Kind = "added"
	case !b.Found():
		c.Kind = "removed"
	case c.Old != c.New:
		c.Kind = "changed"
	case a.Grounded != b.Grounded:
		c.Kind = "grounded"
	default:
		return c, false
	}
	return c, true
}

// diffSteps compares the step records of one document in two runs.
func diffSteps(a, b []pipeline.StepRecord, schemaChanged bool) []stepChange {
	outA, outB := map[string]string{}, map[string]string{}
	for _, s := range a {
		outA[s.Step] = s.OutputHash
	}
	for _, s := range b {
		outB[s.Step] = s.OutputHash
	}
	var out []stepChange
	for _, name := range stepOrder {
		sa, okA := stepOf(a, name)
		sb, okB := stepOf(b, name)
		c := stepChange{Step: name}
		switch {
		case !okA && !okB:
			continue
		case !okA:
			c.Changes, c.Substantive = []string{"ran in B only (" + sb.StepVersion + ")"}, true
		case !okB:
			c.Changes, c.Substantive = []string{"ran in A only (" + sa.StepVersion + ")"}, true
		default:
			if sa.StepVersion != sb.StepVersion {
				c.Changes = append(c.Changes, versionDelta(sa.StepVersion, sb.StepVersion))
			}
			if sa.InputHash != sb.InputHash {
				var why []string
				for _, up := range stepInputs[name] {
					if outA[up] != outB[up] {
						why = append(why, up+" output")
					}
				}
				switch {
				case name == pipeline.StepParse:
					why = append(why, "file")
				case takesSchema[name] && schemaChanged:
					why = append(why, "schema")
				case len(why) == 0 && takesSchema[name]:
					why = append(why, "schema") // the only input left
				}
				c.Changes = append(c.Changes, "input changed ("+strings.Join(why, ", ")+")")
			}
			if sa.OutputHash != sb.OutputHash {
				if sa.Key == sb.Key {
					c.Changes = append(c.Changes, "output changed with the same inputs and version (not deterministic)")
				} else {
					c.Changes = append(c.Changes, "output changed")
				}
			}
			if (sa.Error == "") != (sb.Error == "") {
				c.Changes = append(c.Changes, fmt.Sprintf("error %s → %s", quoteOrNone(sa.Error), quoteOrNone(sb.Error)))
			}
			c.Substantive = len(c.Changes) > 0
			if !c.Substantive {
				continue
			}
			if sa.CacheHit != sb.CacheHit {
				c.Changes = append(c.Changes, "cache "+hitMiss(sa.CacheHit)+" → "+hitMiss(sb.CacheHit))
			} else {
				c.Changes = append(c.Changes, "cache "+hitMiss(sb.CacheHit))
			}
		}
		out = append(out, c)
	}
	return out
}

func hitMiss(hit bool) string {
	if hit {
		return "hit"
	}
	return "miss"
}

func quoteOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return strconv.Quote(truncate(s, 60))
}

// versionDelta says how two version strings differ. Versions are a name
// and key=value settings ("llm/1 model=gpt-4o-mini ... prompt=3f2a");
// when the names agree, only the settings that differ are named.
func versionDelta(a, b string) string {
	ta, tb := strings.Fields(a), strings.Fields(b)
	if len(ta) == 0 || len(tb) == 0 || ta[0] != tb[0] || strings.Contains(ta[0], "=") {
		return orNone(a) + " → " + orNone(b)
	}
	kv := func(tokens []string) (map[string]string, []string) {
		m := map[string]string{}
		var order []string
		for _, t := range tokens[1:] {
			k, v, _ := strings.Cut(t, "=")
			if _, dup := m[k]; !dup {
				order = append(order, k)
			}
			m[k] = v
		}
		return m, order
	}
	ma, oa := kv(ta)
	mb, ob := kv(tb)
	var parts []string
	seen := map[string]bool{}
	for _, k := range append(oa, ob...) {
		if seen[k] {
			continue
		}
		seen[k] = true
		va, okA := ma[k]
		vb, okB := mb[k]
		switch {
		case okA && okB && va == vb:
		case !okA:
			parts = append(parts, fmt.Sprintf("%s=(none) → %s", k, shortValue(vb)))
		case !okB:
			parts = append(parts, fmt.Sprintf("%s=%s → (none)", k, shortValue(va)))
		default:
			parts = append(parts, fmt.Sprintf("%s=%s → %s", k, shortValue(va), shortValue(vb)))
		}
	}
	if len(parts) == 0 {
		return orNone(a) + " → " + orNone(b) // only spacing differs
	}
	return ta[0] + " " + strings.Join(parts, ", ")
}

func shortValue(v string) string {
	if len(v) > 16 && strings.Trim(v, "0123456789abcdef") == "" {
		return v[:12]
	}
	return v
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func writeDiff(w io.Writer, d *runDiff) error {
	var b strings.Builder
	fmt.Fprintf(&b, "diff %s → %s\n", d.A, d.B)
	if len(d.Versions) > 0 {
		b.WriteString("\nversions:\n")
		for _, v := range d.Versions {
			fmt.Fprintf(&b, "  %-10s %s\n", v.Key, v.Delta)
		}
	}
	for _, dd := range d.Documents {
		fmt.Fprintf(&b, "\n%s (%s)\n", filepath.Base(dd.File), shortDoc(dd.DocumentID))
		if dd.OldStatus != dd.NewStatus {
			fmt.Fprintf(&b, "  status: %s → %s\n", dd.OldStatus, dd.NewStatus)
		}
		for _, f := range dd.Fields {
			g := func(x bool) string {
				if x {
					return ""
				}
				return " (not grounded)"
			}
			switch f.Kind {
			case "added":
				fmt.Fprintf(&b, "  %s: added %s%s\n", f.Field, quoteValue(f), g(f.NewGrounded))
			case "removed":
				fmt.Fprintf(&b, "  %s: removed (was %s)\n", f.Field, quoteValue(f))
			case "grounded":
				fmt.Fprintf(&b, "  %s: %s, %s → %s\n", f.Field, strconv.Quote(f.New), groundedWord(f.OldGrounded), groundedWord(f.NewGrounded))
			default:
				line := fmt.Sprintf("  %s: %s → %s", f.Field, strconv.Quote(f.Old), strconv.Quote(f.New))
				if f.OldGrounded != f.NewGrounded {
					line += fmt.Sprintf(" (%s → %s)", groundedWord(f.OldGrounded), groundedWord(f.NewGrounded))
				}
				b.WriteString(line + "\n")
			}
		}
		if len(dd.Steps) == 0 {
			b.WriteString("  upstream: no step changed (same versions and inputs)\n")
		} else {
			b.WriteString("  upstream:\n")
			for _, s := range dd.Steps {
				fmt.Fprintf(&b, "    %s\n", s)
			}
		}
	}
	for _, o := range []struct {
		label string
		refs  []documentRef
		run   string
	}{{"only in A", d.OnlyA, d.A}, {"only in B", d.OnlyB, d.B}} {
		if len(o.refs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s (%s): %d documents\n", o.label, o.run, len(o.refs))
		for _, r := range o.refs {
			fmt.Fprintf(&b, "  %s (%s) %s\n", filepath.Base(r.File), shortDoc(r.DocumentID), r.Status)
		}
	}
	for _, g := range d.Upstream {
		fmt.Fprintf(&b, "\n%d documents with the same values had upstream changes:\n", g.Documents)
		for _, c := range g.Changes {
			fmt.Fprintf(&b, "  %s\n", c)
		}
	}
	if len(d.Versions) == 0 && d.Changed == 0 && len(d.OnlyA) == 0 && len(d.OnlyB) == 0 && len(d.Upstream) == 0 {
		fmt.Fprintf(&b, "\nnothing changed: same documents, values, inputs and versions (run B took %d of %d steps from the cache)\n",
			d.CacheHitsB, d.StepsB)
	}
	fmt.Fprintf(&b, "\n%d documents compared, %d changed, %d fields changed\n", d.Compared, d.Changed, d.FieldsChanged)
	_, err := io.WriteString(w, b.String())
	return err
}

// quoteValue quotes the value of an added or removed field; an element's
// summary (name=value ...) is shown as it is.
func quoteValue(f fieldChange) string {
	v := f.New
	if f.Kind == "removed" {
		v = f.Old
	}
	if strings.HasSuffix(f.Field, "]") {
		return v
	}
	return strconv.Quote(v)
}

func groundedWord(g bool) string {
	if g {
		return "grounded"
	}
	return "not grounded"
}
