package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// FieldType is the type of a schema field. It decides how a raw value is
// normalized, validated and compared with the page it cites.
type FieldType string

// Field types.
const (
	TypeString   FieldType = "string"
	TypeDate     FieldType = "date"     // normalized to YYYY-MM-DD
	TypeMoney    FieldType = "money"    // exact decimal, dot separator, at least 2 decimals
	TypeDecimal  FieldType = "decimal"  // exact decimal without trailing zeros
	TypeInteger  FieldType = "integer"  // digits
	TypeEnum     FieldType = "enum"     // one of FieldSpec.Enum
	TypeCurrency FieldType = "currency" // ISO 4217 code; symbols such as € are mapped
	TypeIBAN     FieldType = "iban"     // upper case, no spaces, valid checksum
	TypeVATID    FieldType = "vat_id"   // upper case, no spaces or punctuation
	TypeArray    FieldType = "array"    // a list of objects whose fields are Items
)

// FieldSpec declares one field of a schema.
type FieldSpec struct {
	Name     string    `json:"name"`
	Type     FieldType `json:"type"`
	Required bool      `json:"required,omitempty"`
	// Key fields are the few a reader checks first (vendor, number, date,
	// total): the columns of tables and summaries.
	Key         bool   `json:"key,omitempty"`
	Description string `json:"description,omitempty"`
	// Enum lists the allowed values of an enum field.
	Enum []string `json:"enum,omitempty"`
	// Pattern is a regular expression the normalized value must match.
	Pattern string `json:"pattern,omitempty"`
	// Labels are the words printed next to the value, by language code
	// ("en": ["PO Number", "Order No."]): with them (or a Pattern) the
	// offline rules extractor can read the field without a model.
	Labels map[string][]string `json:"labels,omitempty"`
	// Items are the fields of each element of an array field.
	Items []FieldSpec `json:"items,omitempty"`
	// EInvoice names the EN 16931 business term an e-invoice carries the
	// field in ("BT-112"; "BG-25" for the invoice lines, whose items then
	// name line-level terms). Empty when e-invoices do not map the field.
	EInvoice string `json:"einvoice,omitempty"`
}

// Schema declares the fields to extract from a kind of document.
type Schema struct {
	Name        string      `json:"name"`
	Version     string      `json:"version"`
	Description string      `json:"description,omitempty"`
	Fields      []FieldSpec `json:"fields"`
}

// Field returns the spec of a top-level field.
func (s Schema) Field(name string) (FieldSpec, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return FieldSpec{}, false
}

// Hash identifies the schema's content: two schemas with the same hash ask
// for the same thing, whatever their files are called.
func (s Schema) Hash() string {
	b, _ := json.Marshal(s) // plain data: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Ref names the schema and its version, for records.
func (s Schema) Ref() SchemaRef { return SchemaRef{Name: s.Name, Version: s.Version} }

// SchemaRef names a schema version on a record.
type SchemaRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}
