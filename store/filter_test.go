package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/extractor-dev/extractor/pipeline"
)

// ParseFilters reads what users write; values are data.
func TestParseFilters(t *testing.T) {
	id := strings.Repeat("ab", 32)
	for _, c := range []struct {
		args []string
		want Filter
		err  string
	}{
		{args: []string{"vendor_name=ACME GmbH"}, want: Filter{Fields: []FieldFilter{{Name: "vendor_name", Op: Equals, Value: "ACME GmbH"}}}},
		{args: []string{"vendor_name ~ acme"}, want: Filter{Fields: []FieldFilter{{Name: "vendor_name", Op: Contains, Value: "acme"}}}},
		{args: []string{"issue_date=2024-01-01..2024-03-31", "due_date=..2024-12-31"}, want: Filter{Fields: []FieldFilter{
			{Name: "issue_date", Op: Between, From: "2024-01-01", To: "2024-03-31"}, {Name: "due_date", Op: Between, To: "2024-12-31"}}}},
		{args: []string{"total_amount>=1000", "total_amount<=2000.50"}, want: Filter{Fields: []FieldFilter{
			{Name: "total_amount", Op: GreaterOrEqual, Value: "1000"}, {Name: "total_amount", Op: LessOrEqual, Value: "2000.50"}}}},
		{args: []string{"document=" + strings.ToUpper(id) + "," + id, "schema=invoice"}, want: Filter{DocumentIDs: []string{id, id}, Schema: "invoice"}},
		// Values are data, whatever they hold.
		{args: []string{"vendor_name=x'; DROP TABLE chunks; --"}, want: Filter{Fields: []FieldFilter{{Name: "vendor_name", Op: Equals, Value: "x'; DROP TABLE chunks; --"}}}},
		{args: []string{"Vendor=x"}, err: "NAME in lower case"},
		{args: []string{"vendor_name="}, err: "no value"},
		{args: []string{"document=abc"}, err: "64 hex digits"},
		{args: []string{"document~" + id}, err: "document=ID"},
		{args: []string{"schema=a", "schema=b"}, err: "one schema at a time"},
		{args: []string{"total"}, err: "want NAME=VALUE"},
	} {
		got, err := ParseFilters(c.args)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%q: %+v %v, want %+v", c.args, got, err, c.want)
		}
	}
}

// A filter on a field that does not exist is the caller's mistake, named
// with the fields that do (a typo used to match nothing, silently).
func TestFilterCheckFields(t *testing.T) {
	f, err := ParseFilters([]string{"totl_amount>=5"})
	if err != nil {
		t.Fatal(err)
	}
	err = f.CheckFields([]string{"vendor_name", "total_amount"})
	if !errors.Is(err, pipeline.ErrInvalid) || !strings.Contains(err.Error(), "total_amount, vendor_name") {
		t.Errorf("err = %v", err)
	}
	f, _ = ParseFilters([]string{"total_amount>=5", "schema=invoice"})
	if err := f.CheckFields([]string{"total_amount"}); err != nil {
		t.Error(err)
	}
}
