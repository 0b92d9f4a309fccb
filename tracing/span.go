package tracing

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Span is a finished span as the JSONL exporter writes it and ReadSpans
// reads it back. Attribute lists are sorted by key.
type Span struct {
	TraceID      trace.TraceID
	SpanID       trace.SpanID
	ParentSpanID trace.SpanID // zero for a span without a parent
	Name         string
	Kind         trace.SpanKind
	Start, End   time.Time
	// Duration is End-Start as the SDK measured it (on the monotonic clock,
	// so it can differ from End.Sub(Start) by a little).
	Duration   time.Duration
	Status     SpanStatus
	Attributes []attribute.KeyValue
	Events     []Event
	Links      []Link
	// Dropped* count what the SDK's span limits discarded.
	DroppedAttributes, DroppedEvents, DroppedLinks int
	// Resource is the attribute list of the resource that made the span
	// (service.name, service.version, telemetry.sdk.*).
	Resource []attribute.KeyValue
	Scope    Scope
}

// SpanStatus is the status of a span: codes.Error with a message when the
// operation failed.
type SpanStatus struct {
	Code    codes.Code
	Message string
}

// Event is a timestamped annotation of a span (an exception, a retry).
type Event struct {
	Name              string
	Time              time.Time
	Attributes        []attribute.KeyValue
	DroppedAttributes int
}

// Link points from a span to another span, possibly of another trace.
type Link struct {
	TraceID           trace.TraceID
	SpanID            trace.SpanID
	Attributes        []attribute.KeyValue
	DroppedAttributes int
}

// Scope is the instrumentation scope (the tracer name) that made a span.
type Scope struct {
	Name, Version, SchemaURL string
	Attributes               []attribute.KeyValue
}

// Attr returns the value of the span attribute k.
func (s *Span) Attr(k attribute.Key) (attribute.Value, bool) {
	return lookup(s.Attributes, k)
}

func lookup(kvs []attribute.KeyValue, k attribute.Key) (attribute.Value, bool) {
	for _, kv := range kvs {
		if kv.Key == k {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// SpanFrom converts a span of the SDK (from an exporter or a
// tracetest.SpanRecorder) to a Span.
func SpanFrom(ro sdktrace.ReadOnlySpan) Span {
	s := spanFrom(ro)
	if r := ro.Resource(); r != nil {
		s.Resource = nilIfEmpty(r.Attributes()) // a sorted copy
	}
	return s
}

// spanFrom is SpanFrom without the resource, which the exporter encodes
// once per provider rather than once per span.
func spanFrom(ro sdktrace.ReadOnlySpan) Span {
	sc := ro.SpanContext()
	s := Span{
		TraceID:           sc.TraceID(),
		SpanID:            sc.SpanID(),
		ParentSpanID:      ro.Parent().SpanID(),
		Name:              ro.Name(),
		Kind:              ro.SpanKind(),
		Start:             ro.StartTime(),
		End:               ro.EndTime(),
		Duration:          ro.EndTime().Sub(ro.StartTime()),
		Status:            SpanStatus{Code: ro.Status().Code, Message: ro.Status().Description},
		Attributes:        sortedAttrs(ro.Attributes()),
		DroppedAttributes: ro.DroppedAttributes(),
		DroppedEvents:     ro.DroppedEvents(),
		DroppedLinks:      ro.DroppedLinks(),
	}
	if evs := ro.Events(); len(evs) > 0 {
		s.Events = make([]Event, len(evs))
		for i, e := range evs {
			s.Events[i] = Event{Name: e.Name, Time: e.Time, Attributes: sortedAttrs(e.Attributes), DroppedAttributes: e.DroppedAttributeCount}
		}
	}
	if ls := ro.Links(); len(ls) > 0 {
		s.Links = make([]Link, len(ls))
		for i, l := range ls {
			s.Links[i] = Link{TraceID: l.SpanContext.TraceID(), SpanID: l.SpanContext.SpanID(),
				Attributes: sortedAttrs(l.Attributes), DroppedAttributes: l.DroppedAttributeCount}
		}
	}
	is := ro.InstrumentationScope()
	s.Scope = Scope{Name: is.Name, Version: is.Version, SchemaURL: is.SchemaURL, Attributes: nilIfEmpty(is.Attributes.ToSlice())}
	return s
}

// nilIfEmpty makes "no attributes" one value, as ReadSpans returns it.
func nilIfEmpty(kvs []attribute.KeyValue) []attribute.KeyValue {
	if len(kvs) == 0 {
		return nil
	}
	return kvs
}

// sortedAttrs returns a sorted copy: the SDK may hand out its own slice,
// which other exporters read concurrently.
func sortedAttrs(kvs []attribute.KeyValue) []attribute.KeyValue {
	if len(kvs) == 0 {
		return nil
	}
	out := slices.Clone(kvs)
	slices.SortStableFunc(out, func(a, b attribute.KeyValue) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// MarshalJSON encodes s as one line of a span file (without the newline).
// Fields come in a fixed order; attribute objects are sorted by key, and
// each value carries its type, since JSON cannot tell 2 from 2.0:
//
//	{"trace_id":"4bf9…4736","span_id":"…02","parent_span_id":"…01",
//	 "name":"chat gpt-4o-mini","kind":"client",
//	 "start":"2025-03-04T05:06:07.123456789Z","end":"…","duration_ns":1500000000,
//	 "status":{"code":"Error","message":"tool call missing"},
//	 "attributes":{"gen_ai.usage.input_tokens":{"type":"int","value":1200},…},
//	 "events":[{"name":"retry","time":"…","attributes":{…}}],
//	 "links":[{"trace_id":"…","span_id":"…","attributes":{…}}],
//	 "resource":{"service.name":{"type":"string","value":"extractor"},…},
//	 "scope":{"name":"github.com/extractor-dev/extractor/extract","version":"v0.3.0"}}
//
// Types are bool, int, float, string, bool[], int[], float[], string[],
// bytes (base64), slice and map (of typed values) and empty. A float that
// JSON cannot hold is written as the string "NaN", "Infinity" or
// "-Infinity". Empty attribute objects, events, links, a missing parent
// and zero dropped_attributes / dropped_events / dropped_links counts are
// left out. Times are UTC, RFC 3339 with nanoseconds.
func (s Span) MarshalJSON() ([]byte, error) {
	return appendSpan(nil, &s), nil
}

// UnmarshalJSON decodes one line of a span file.
func (s *Span) UnmarshalJSON(b []byte) error {
	var w wireSpan
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	return w.to(s)
}

// The JSON form. Field order is fixed by appendSpan; the reader only
// needs names.

func appendSpan(b []byte, s *Span) []byte {
	return appendSpanResource(b, s, nil)
}

// appendSpanResource writes the resource as resJSON, an encoded attribute
// object, when that is not nil.
func appendSpanResource(b []byte, s *Span, resJSON []byte) []byte {
	b = append(b, `{"trace_id":"`...)
	b = append(b, s.TraceID.String()...)
	b = append(b, `","span_id":"`...)
	b = append(b, s.SpanID.String()...)
	b = append(b, '"')
	if s.ParentSpanID.IsValid() {
		b = append(b, `,"parent_span_id":"`...)
		b = append(b, s.ParentSpanID.String()...)
		b = append(b, '"')
	}
	b = append(b, `,"name":`...)
	b = appendString(b, s.Name)
	b = append(b, `,"kind":`...)
	b = appendString(b, s.Kind.String())
	b = append(b, `,"start":`...)
	b = appendTime(b, s.Start)
	b = append(b, `,"end":`...)
	b = appendTime(b, s.End)
	b = append(b, `,"duration_ns":`...)
	b = strconv.AppendInt(b, int64(s.Duration), 10)
	b = append(b, `,"status":{"code":`...)
	b = appendString(b, s.Status.Code.String())
	if s.Status.Message != "" {
		b = append(b, `,"message":`...)
		b = appendString(b, s.Status.Message)
	}
	b = append(b, '}')
	b = appendAttrsField(b, "attributes", s.Attributes)
	b = appendCount(b, "dropped_attributes", s.DroppedAttributes)
	if len(s.Events) > 0 {
		b = append(b, `,"events":[`...)
		for i, e := range s.Events {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendString(b, e.Name)
			b = append(b, `,"time":`...)
			b = appendTime(b, e.Time)
			b = appendAttrsField(b, "attributes", e.Attributes)
			b = appendCount(b, "dropped_attributes", e.DroppedAttributes)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendCount(b, "dropped_events", s.DroppedEvents)
	if len(s.Links) > 0 {
		b = append(b, `,"links":[`...)
		for i, l := range s.Links {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"trace_id":"`...)
			b = append(b, l.TraceID.String()...)
			b = append(b, `","span_id":"`...)
			b = append(b, l.SpanID.String()...)
			b = append(b, '"')
			b = appendAttrsField(b, "attributes", l.Attributes)
			b = appendCount(b, "dropped_attributes", l.DroppedAttributes)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendCount(b, "dropped_links", s.DroppedLinks)
	if resJSON != nil {
		b = append(b, `,"resource":`...)
		b = append(b, resJSON...)
	} else {
		b = appendAttrsField(b, "resource", s.Resource)
	}
	b = append(b, `,"scope":{"name":`...)
	b = appendString(b, s.Scope.Name)
	if s.Scope.Version != "" {
		b = append(b, `,"version":`...)
		b = appendString(b, s.Scope.Version)
	}
	if s.Scope.SchemaURL != "" {
		b = append(b, `,"schema_url":`...)
		b = appendString(b, s.Scope.SchemaURL)
	}
	b = appendAttrsField(b, "attributes", s.Scope.Attributes)
	b = append(b, "}}"...)
	return b
}

func appendCount(b []byte, name string, n int) []byte {
	if n == 0 {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	return strconv.AppendInt(b, int64(n), 10)
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendAttrsField writes ,"name":{...} for a non-empty list, whose keys
// are expected sorted (the callers sort them).
func appendAttrsField(b []byte, name string, kvs []attribute.KeyValue) []byte {
	if len(kvs) == 0 {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	return appendAttrs(b, kvs)
}

func appendAttrs(b []byte, kvs []attribute.KeyValue) []byte {
	b = append(b, '{')
	for i, kv := range kvs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, string(kv.Key))
		b = append(b, ':')
		b = appendValue(b, kv.Value)
	}
	return append(b, '}')
}

// Type names of attribute values in the JSON form. JSON alone cannot tell
// an int from a float that happens to be whole, so every value says its
// type.
const (
	typeBool        = "bool"
	typeInt         = "int"
	typeFloat       = "float"
	typeString      = "string"
	typeBoolSlice   = "bool[]"
	typeIntSlice    = "int[]"
	typeFloatSlice  = "float[]"
	typeStringSlice = "string[]"
	typeBytes       = "bytes" // base64
	typeSlice       = "slice" // of typed values
	typeMap         = "map"   // of typed values
	typeEmpty       = "empty"
)

// appendValue writes {"type":T,"value":V}.
func appendValue(b []byte, v attribute.Value) []byte {
	b = append(b, `{"type":"`...)
	switch v.Type() {
	case attribute.BOOL:
		b = append(b, typeBool+`","value":`...)
		b = strconv.AppendBool(b, v.AsBool())
	case attribute.INT64:
		b = append(b, typeInt+`","value":`...)
		b = strconv.AppendInt(b, v.AsInt64(), 10)
	case attribute.FLOAT64:
		b = append(b, typeFloat+`","value":`...)
		b = appendFloat(b, v.AsFloat64())
	case attribute.STRING:
		b = append(b, typeString+`","value":`...)
		b = appendString(b, v.AsString())
	case attribute.BOOLSLICE:
		b = append(b, typeBoolSlice+`","value":[`...)
		for i, x := range v.AsBoolSlice() {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendBool(b, x)
		}
		b = append(b, ']')
	case attribute.INT64SLICE:
		b = append(b, typeIntSlice+`","value":[`...)
		for i, x := range v.AsInt64Slice() {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, x, 10)
		}
		b = append(b, ']')
	case attribute.FLOAT64SLICE:
		b = append(b, typeFloatSlice+`","value":[`...)
		for i, x := range v.AsFloat64Slice() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendFloat(b, x)
		}
		b = append(b, ']')
	case attribute.STRINGSLICE:
		b = append(b, typeStringSlice+`","value":[`...)
		for i, x := range v.AsStringSlice() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, x)
		}
		b = append(b, ']')
	case attribute.BYTESLICE:
		b = append(b, typeBytes+`","value":"`...)
		b = base64.StdEncoding.AppendEncode(b, v.AsByteSlice())
		b = append(b, '"')
	case attribute.SLICE:
		b = append(b, typeSlice+`","value":[`...)
		for i, x := range v.AsSlice() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, x)
		}
		b = append(b, ']')
	case attribute.MAP:
		b = append(b, typeMap+`","value":`...)
		b = appendAttrs(b, v.AsMap())
	default:
		b = append(b, typeEmpty+`","value":null`...)
	}
	return append(b, '}')
}

// appendFloat writes a JSON number, or a string for what JSON cannot
// hold ("NaN", "Infinity", "-Infinity").
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// appendString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// wireSpan is the decoding side of appendSpan.
type wireSpan struct {
	TraceID           string      `json:"trace_id"`
	SpanID            string      `json:"span_id"`
	ParentSpanID      string      `json:"parent_span_id"`
	Name              string      `json:"name"`
	Kind              string      `json:"kind"`
	Start             time.Time   `json:"start"`
	End               time.Time   `json:"end"`
	DurationNS        int64       `json:"duration_ns"`
	Status            wireStatus  `json:"status"`
	Attributes        wireAttrs   `json:"attributes"`
	DroppedAttributes int         `json:"dropped_attributes"`
	Events            []wireEvent `json:"events"`
	DroppedEvents     int         `json:"dropped_events"`
	Links             []wireLink  `json:"links"`
	DroppedLinks      int         `json:"dropped_links"`
	Resource          wireAttrs   `json:"resource"`
	Scope             wireScope   `json:"scope"`
}

type wireStatus struct {
	Code    codes.Code `json:"code"`
	Message string     `json:"message"`
}

type wireEvent struct {
	Name              string    `json:"name"`
	Time              time.Time `json:"time"`
	Attributes        wireAttrs `json:"attributes"`
	DroppedAttributes int       `json:"dropped_attributes"`
}

type wireLink struct {
	TraceID           string    `json:"trace_id"`
	SpanID            string    `json:"span_id"`
	Attributes        wireAttrs `json:"attributes"`
	DroppedAttributes int       `json:"dropped_attributes"`
}

type wireScope struct {
	Name       string    `json:"name"`
	Version    string    `json:"version"`
	SchemaURL  string    `json:"schema_url"`
	Attributes wireAttrs `json:"attributes"`
}

// wireAttrs decodes an attribute object into a list sorted by key.
type wireAttrs []attribute.KeyValue

func (a *wireAttrs) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*a = nil
		return nil
	}
	var m map[string]wireValue
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	kvs := make([]attribute.KeyValue, 0, len(m))
	for k, v := range m {
		kvs = append(kvs, attribute.KeyValue{Key: attribute.Key(k), Value: v.v})
	}
	slices.SortFunc(kvs, func(x, y attribute.KeyValue) int { return cmp.Compare(x.Key, y.Key) })
	*a = kvs
	return nil
}

type wireValue struct{ v attribute.Value }

func (w *wireValue) UnmarshalJSON(b []byte) error {
	var tv struct {
		Type  string          `json:"type"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &tv); err != nil {
		return err
	}
	v, err := decodeValue(tv.Type, tv.Value)
	if err != nil {
		return err
	}
	w.v = v
	return nil
}

func decodeValue(typ string, raw json.RawMessage) (attribute.Value, error) {
	var err error
	switch typ {
	case typeBool:
		var x bool
		err = json.Unmarshal(raw, &x)
		return attribute.BoolValue(x), err
	case typeInt:
		var x int64
		err = json.Unmarshal(raw, &x)
		return attribute.Int64Value(x), err
	case typeFloat:
		x, err := decodeFloat(raw)
		return attribute.Float64Value(x), err
	case typeString:
		var x string
		err = json.Unmarshal(raw, &x)
		return attribute.StringValue(x), err
	case typeBoolSlice:
		var x []bool
		err = json.Unmarshal(raw, &x)
		return attribute.BoolSliceValue(x), err
	case typeIntSlice:
		var x []int64
		err = json.Unmarshal(raw, &x)
		return attribute.Int64SliceValue(x), err
	case typeFloatSlice:
		var raws []json.RawMessage
		if err = json.Unmarshal(raw, &raws); err != nil {
			return attribute.Value{}, err
		}
		x := make([]float64, len(raws))
		for i, r := range raws {
			if x[i], err = decodeFloat(r); err != nil {
				return attribute.Value{}, err
			}
		}
		return attribute.Float64SliceValue(x), nil
	case typeStringSlice:
		var x []string
		err = json.Unmarshal(raw, &x)
		return attribute.StringSliceValue(x), err
	case typeBytes:
		var s string
		if err = json.Unmarshal(raw, &s); err != nil {
			return attribute.Value{}, err
		}
		x, err := base64.StdEncoding.DecodeString(s)
		return attribute.ByteSliceValue(x), err
	case typeSlice:
		var x []wireValue
		if err = json.Unmarshal(raw, &x); err != nil {
			return attribute.Value{}, err
		}
		vs := make([]attribute.Value, len(x))
		for i := range x {
			vs[i] = x[i].v
		}
		return attribute.SliceValue(vs...), nil
	case typeMap:
		var x wireAttrs
		if err = json.Unmarshal(raw, &x); err != nil {
			return attribute.Value{}, err
		}
		return attribute.MapValue(x...), nil
	case typeEmpty:
		return attribute.Value{}, nil
	}
	return attribute.Value{}, fmt.Errorf("unknown attribute type %q", typ)
}

func decodeFloat(raw json.RawMessage) (float64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		switch s {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
		return 0, fmt.Errorf("bad float %q", s)
	}
	var x float64
	err := json.Unmarshal(raw, &x)
	return x, err
}

var errNoID = errors.New("missing trace_id or span_id")

func (w *wireSpan) to(s *Span) error {
	var err error
	if w.TraceID == "" || w.SpanID == "" {
		return errNoID
	}
	*s = Span{
		Name:              w.Name,
		Kind:              parseKind(w.Kind),
		Start:             w.Start,
		End:               w.End,
		Duration:          time.Duration(w.DurationNS),
		Status:            SpanStatus{Code: w.Status.Code, Message: w.Status.Message},
		Attributes:        w.Attributes,
		DroppedAttributes: w.DroppedAttributes,
		DroppedEvents:     w.DroppedEvents,
		DroppedLinks:      w.DroppedLinks,
		Resource:          w.Resource,
		Scope:             Scope{Name: w.Scope.Name, Version: w.Scope.Version, SchemaURL: w.Scope.SchemaURL, Attributes: w.Scope.Attributes},
	}
	if err = parseHexID(s.TraceID[:], w.TraceID); err != nil {
		return fmt.Errorf("trace_id: %w", err)
	}
	if err = parseHexID(s.SpanID[:], w.SpanID); err != nil {
		return fmt.Errorf("span_id: %w", err)
	}
	if w.ParentSpanID != "" {
		if err = parseHexID(s.ParentSpanID[:], w.ParentSpanID); err != nil {
			return fmt.Errorf("parent_span_id: %w", err)
		}
	}
	if len(w.Events) > 0 {
		s.Events = make([]Event, len(w.Events))
		for i, e := range w.Events {
			s.Events[i] = Event{Name: e.Name, Time: e.Time, Attributes: e.Attributes, DroppedAttributes: e.DroppedAttributes}
		}
	}
	if len(w.Links) > 0 {
		s.Links = make([]Link, len(w.Links))
		for i, l := range w.Links {
			s.Links[i] = Link{Attributes: l.Attributes, DroppedAttributes: l.DroppedAttributes}
			// A link may point at an invalid (all-zero) context, which
			// trace.TraceIDFromHex would refuse.
			if err = parseHexID(s.Links[i].TraceID[:], l.TraceID); err != nil {
				return fmt.Errorf("link trace_id: %w", err)
			}
			if err = parseHexID(s.Links[i].SpanID[:], l.SpanID); err != nil {
				return fmt.Errorf("link span_id: %w", err)
			}
		}
	}
	return nil
}

// parseHexID decodes h, which must be exactly len(dst) bytes of hex, into
// dst.
func parseHexID(dst []byte, h string) error {
	if len(h) != 2*len(dst) {
		return fmt.Errorf("%q: want %d hex digits", h, 2*len(dst))
	}
	if _, err := hex.Decode(dst, []byte(h)); err != nil {
		return fmt.Errorf("%q: %w", h, err)
	}
	return nil
}

func parseKind(k string) trace.SpanKind {
	switch k {
	case "internal":
		return trace.SpanKindInternal
	case "server":
		return trace.SpanKindServer
	case "client":
		return trace.SpanKindClient
	case "producer":
		return trace.SpanKindProducer
	case "consumer":
		return trace.SpanKindConsumer
	}
	return trace.SpanKindUnspecified
}
