package history

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/extractor-dev/extractor/pipeline"
)

// RunDiff is what changed from one run (A) to another (B).
type RunDiff struct {
	A string `json:"a"`
	B string `json:"b"`
	// Versions are the manifests' versions that differ.
	Versions []VersionChange `json:"versions"`
	// Documents are the documents whose status, review, values,
	// confidence or issues changed, each with the upstream change behind
	// it.
	Documents []DocumentDiff  `json:"documents"`
	OnlyA     []DocumentRef   `json:"only_a"`
	OnlyB     []DocumentRef   `json:"only_b"`
	Upstream  []UpstreamGroup `json:"upstream"`
	// Totals of the documents compared, in A and in B.
	Totals        [2]Totals `json:"totals"`
	Compared      int       `json:"compared"`
	Changed       int       `json:"changed"`
	FieldsChanged int       `json:"fields_changed"`
	// CacheHitsB and StepsB: how many of run B's steps (of the documents
	// compared) came from the cache.
	CacheHitsB int `json:"cache_hits_b"`
	StepsB     int `json:"steps_b"`
}

// Totals sum up the documents compared in one run.
type Totals struct {
	OK          int `json:"ok"`
	Failed      int `json:"failed"`
	NeedsReview int `json:"needs_review"`
	Issues      int `json:"issues"`
	// Failing counts issues of severity fail.
	Failing int `json:"failing"`
}

// VersionChange is one manifest version that differs.
type VersionChange struct {
	Key string `json:"key"`
	Old string `json:"old"`
	New string `json:"new"`
	// Delta names the key=value tokens that differ, when the two
	// versions are of the same kind ("prompt=ab12 → cd34").
	Delta string `json:"delta"`
}

// DocumentRef names a document found in one run only.
type DocumentRef struct {
	DocumentID string `json:"document_id"`
	File       string `json:"file"`
	Status     string `json:"status"`
}

// DocumentDiff is what changed for one document.
type DocumentDiff struct {
	DocumentID     string           `json:"document_id"`
	File           string           `json:"file"`
	OldStatus      string           `json:"old_status"`
	NewStatus      string           `json:"new_status"`
	OldNeedsReview bool             `json:"old_needs_review"`
	NewNeedsReview bool             `json:"new_needs_review"`
	Fields         []FieldChange    `json:"fields"`
	IssuesAdded    []pipeline.Issue `json:"issues_added"`
	IssuesRemoved  []pipeline.Issue `json:"issues_removed"`
	// Steps are the upstream changes: which step's version, inputs,
	// output or error differ, and why.
	Steps []StepChange `json:"steps"`
}

// FieldChange is one field whose value, grounding or confidence changed.
type FieldChange struct {
	Field string `json:"field"`
	// Kind is "changed", "added", "removed", "grounded" (same value,
	// other grounding) or "confidence" (same value and grounding).
	Kind          string  `json:"kind"`
	Old           string  `json:"old"`
	New           string  `json:"new"`
	OldGrounded   bool    `json:"old_grounded"`
	NewGrounded   bool    `json:"new_grounded"`
	OldConfidence float64 `json:"old_confidence"`
	NewConfidence float64 `json:"new_confidence"`
}

// StepChange says how one step of a document differs between the runs.
type StepChange struct {
	Step string `json:"step"`
	// Changes say what differs: the version's tokens, the inputs (and
	// which), the output, the error, the cache.
	Changes []string `json:"changes"`
	// Substantive: something other than the cache status differs.
	Substantive bool `json:"-"`
}

func (s StepChange) String() string { return s.Step + ": " + strings.Join(s.Changes, "; ") }

// UpstreamGroup counts documents with the same outputs whose steps changed
// the same way.
type UpstreamGroup struct {
	Documents int      `json:"documents"`
	Changes   []string `json:"changes"`
}

// confidenceStep is the smallest change of confidence diff reports.
const confidenceStep = 0.01

// Diff compares two runs document by document (matched by document id:
// the file's SHA-256).
func Diff(a, b *Run) *RunDiff {
	d := &RunDiff{A: a.ID, B: b.ID, Versions: []VersionChange{}, Documents: []DocumentDiff{},
		OnlyA: []DocumentRef{}, OnlyB: []DocumentRef{}, Upstream: []UpstreamGroup{}}
	keys := map[string]bool{}
	for k := range a.Versions {
		keys[k] = true
	}
	for k := range b.Versions {
		keys[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		va, vb := a.Versions[k], b.Versions[k]
		if va != vb {
			d.Versions = append(d.Versions, VersionChange{Key: k, Old: va, New: vb, Delta: VersionDelta(va, vb)})
		}
	}
	byA, byB := map[string]pipeline.ResultLine{}, map[string]pipeline.ResultLine{}
	for _, r := range a.Results {
		byA[r.Key()] = r
	}
	for _, r := range b.Results {
		byB[r.Key()] = r
	}
	groups := map[string]int{}
	var groupOrder []string
	for _, ra := range a.Results {
		rb, ok := byB[ra.Key()]
		if !ok {
			d.OnlyA = append(d.OnlyA, DocumentRef{ra.DocumentID, ra.File, ra.Status})
			continue
		}
		if byA[ra.Key()].File != ra.File {
			continue // the same bytes under another name: compared once
		}
		d.Compared++
		d.Totals[0].add(ra)
		d.Totals[1].add(rb)
		stepsA, stepsB := a.StepsOf(ra), b.StepsOf(rb)
		for _, s := range stepsB {
			d.StepsB++
			if s.CacheHit {
				d.CacheHitsB++
			}
		}
		dd := DocumentDiff{DocumentID: ra.DocumentID, File: rb.File, OldStatus: ra.Status, NewStatus: rb.Status,
			OldNeedsReview: ra.NeedsReview, NewNeedsReview: rb.NeedsReview, Fields: DiffFields(ra, rb),
			Steps: DiffSteps(stepsA, stepsB)}
		dd.IssuesAdded, dd.IssuesRemoved = diffIssues(ra.Issues, rb.Issues)
		if dd.changed() {
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
		d.Upstream = append(d.Upstream, UpstreamGroup{Documents: groups[k], Changes: strings.Split(k, "\n")})
	}
	for _, rb := range b.Results {
		if _, ok := byA[rb.Key()]; !ok {
			d.OnlyB = append(d.OnlyB, DocumentRef{rb.DocumentID, rb.File, rb.Status})
		}
	}
	return d
}

func (t *Totals) add(r pipeline.ResultLine) {
	switch r.Status {
	case "ok":
		t.OK++
	case "failed":
		t.Failed++
	}
	if r.NeedsReview {
		t.NeedsReview++
	}
	t.Issues += len(r.Issues)
	for _, is := range r.Issues {
		if is.Severity == pipeline.SeverityFail {
			t.Failing++
		}
	}
}

func (dd DocumentDiff) changed() bool {
	return dd.OldStatus != dd.NewStatus || dd.OldNeedsReview != dd.NewNeedsReview || len(dd.Fields) > 0 ||
		len(dd.IssuesAdded) > 0 || len(dd.IssuesRemoved) > 0
}

// diffIssues compares two documents' issues by severity, code and field
// (messages may word the same issue differently).
func diffIssues(a, b []pipeline.Issue) (added, removed []pipeline.Issue) {
	key := func(i pipeline.Issue) string { return string(i.Severity) + "\x00" + i.Code + "\x00" + i.Field }
	count := map[string]int{}
	for _, i := range a {
		count[key(i)]++
	}
	for _, i := range b {
		if count[key(i)] > 0 {
			count[key(i)]--
			continue
		}
		added = append(added, i)
	}
	left := map[string]int{}
	for _, i := range b {
		left[key(i)]++
	}
	for _, i := range a {
		if left[key(i)] > 0 {
			left[key(i)]--
			continue
		}
		removed = append(removed, i)
	}
	return added, removed
}

// DiffFields compares the values of two result lines of one document.
func DiffFields(a, b pipeline.ResultLine) []FieldChange {
	var out []FieldChange
	names := map[string]bool{}
	for k := range a.Fields {
		names[k] = true
	}
	for k := range b.Fields {
		names[k] = true
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		if c, ok := diffField(name, a.Fields[name], b.Fields[name]); ok {
			out = append(out, c)
		}
	}
	lists := map[string]bool{}
	for k := range a.Lists {
		lists[k] = true
	}
	for k := range b.Lists {
		lists[k] = true
	}
	for _, list := range slices.Sorted(maps.Keys(lists)) {
		la, lb := a.Lists[list], b.Lists[list]
		for i := range max(len(la), len(lb)) {
			// An element in one run only is one change, not one per field.
			path := fmt.Sprintf("%s[%d]", list, i)
			if i >= len(la) {
				out = append(out, FieldChange{Field: path, Kind: "added", New: ItemText(lb[i]), NewGrounded: lb[i].Grounded})
				continue
			}
			if i >= len(lb) {
				out = append(out, FieldChange{Field: path, Kind: "removed", Old: ItemText(la[i]), OldGrounded: la[i].Grounded})
				continue
			}
			fa, fb := la[i].Fields, lb[i].Fields
			sub := map[string]bool{}
			for k := range fa {
				sub[k] = true
			}
			for k := range fb {
				sub[k] = true
			}
			for _, name := range slices.Sorted(maps.Keys(sub)) {
				if c, ok := diffField(fmt.Sprintf("%s[%d].%s", list, i, name), fa[name], fb[name]); ok {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// ItemText sums up a list element: its found fields as name=value.
func ItemText(it pipeline.Item) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(it.Fields)) {
		if f := it.Fields[name]; f.Found() {
			v := ShownValue(f)
			if strings.ContainsAny(v, " \"=") || v == "" {
				v = strconv.Quote(v)
			}
			parts = append(parts, name+"="+v)
		}
	}
	return strings.Join(parts, " ")
}

// ShownValue is a field's value as diff shows it: the normalized value,
// or the raw one when it did not normalize, with its currency.
func ShownValue(f pipeline.Field) string {
	v := cmpOr(f.Value, f.Raw)
	if f.Currency != "" {
		v += " " + f.Currency
	}
	return v
}

func diffField(name string, a, b pipeline.Field) (FieldChange, bool) {
	c := FieldChange{Field: name, Old: ShownValue(a), New: ShownValue(b), OldGrounded: a.Grounded, NewGrounded: b.Grounded,
		OldConfidence: a.Confidence, NewConfidence: b.Confidence}
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
	case math.Abs(a.Confidence-b.Confidence) >= confidenceStep:
		c.Kind = "confidence"
	default:
		return c, false
	}
	return c, true
}

// legacyInputs is the step graph for step records written before records
// named their inputs: the steps whose outputs each step read.
var legacyInputs = map[string][]string{
	pipeline.StepChunk:    {pipeline.StepParse},
	pipeline.StepExtract:  {pipeline.StepParse, pipeline.InputSchema},
	pipeline.StepSecond:   {pipeline.StepParse, pipeline.InputSchema},
	pipeline.StepValidate: {pipeline.StepExtract, pipeline.StepSecond, pipeline.StepParse, pipeline.InputSchema},
	pipeline.StepEmbed:    {pipeline.StepChunk},
	pipeline.StepParse:    {pipeline.InputFile},
}

// DiffSteps compares the step records of one document in two runs. Which
// input of a step changed is read from the records (StepRecord.Inputs);
// the output of another step, the file or the schema.
func DiffSteps(a, b []pipeline.StepRecord) []StepChange {
	outA, outB := map[string]string{}, map[string]string{}
	for _, s := range a {
		outA[s.Step] = s.OutputHash
	}
	for _, s := range b {
		outB[s.Step] = s.OutputHash
	}
	var out []StepChange
	for _, name := range StepOrder {
		sa, okA := StepOf(a, name)
		sb, okB := StepOf(b, name)
		c := StepChange{Step: name}
		switch {
		case !okA && !okB:
			continue
		case !okA:
			c.Changes, c.Substantive = []string{"ran in B only (" + sb.StepVersion + ")"}, true
		case !okB:
			c.Changes, c.Substantive = []string{"ran in A only (" + sa.StepVersion + ")"}, true
		default:
			if sa.StepVersion != sb.StepVersion {
				c.Changes = append(c.Changes, VersionDelta(sa.StepVersion, sb.StepVersion))
			}
			if sa.InputHash != sb.InputHash {
				c.Changes = append(c.Changes, "input changed ("+strings.Join(changedInputs(name, sa, sb, outA, outB), ", ")+")")
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

// changedInputs names the inputs of a step whose hashes differ: from the
// records' own Inputs, or for older records from the legacy graph.
func changedInputs(step string, a, b pipeline.StepRecord, outA, outB map[string]string) []string {
	var why []string
	if len(a.Inputs) > 0 && len(b.Inputs) > 0 {
		names := map[string]bool{}
		for k := range a.Inputs {
			names[k] = true
		}
		for k := range b.Inputs {
			names[k] = true
		}
		for _, n := range slices.Sorted(maps.Keys(names)) {
			if a.Inputs[n] != b.Inputs[n] {
				why = append(why, inputName(n))
			}
		}
		return why
	}
	for _, up := range legacyInputs[step] {
		switch up {
		case pipeline.InputFile, pipeline.InputSchema:
		default:
			if outA[up] != outB[up] {
				why = append(why, inputName(up))
			}
		}
	}
	if len(why) == 0 { // only an outside input is left to explain it
		for _, up := range legacyInputs[step] {
			if up == pipeline.InputFile || up == pipeline.InputSchema {
				why = append(why, up)
			}
		}
	}
	return why
}

func inputName(n string) string {
	if n == pipeline.InputFile || n == pipeline.InputSchema {
		return n
	}
	return n + " output"
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
	if r := []rune(s); len(r) > 60 {
		s = string(r[:59]) + "…"
	}
	return strconv.Quote(s)
}

// VersionDelta says how two version strings differ. Versions are a name
// and key=value settings ("llm/1 model=gpt-4o-mini ... prompt=3f2a");
// when the names agree, only the settings that differ are named.
func VersionDelta(a, b string) string {
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
