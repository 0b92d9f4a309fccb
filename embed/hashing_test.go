package embed

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tiktoken-go/tokenizer"
)

func newTestHashing(t testing.TB, dims int) *Hashing {
	t.Helper()
	h, err := NewHashing(HashingConfig{Dimensions: dims})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

func norm2(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestHashingIsDeterministicAndNormalized(t *testing.T) {
	h := newTestHashing(t, 0)
	if h.Dimensions() != 384 || h.Version() != "hashing/1 dims=384" || h.Model() != "hashing/1" {
		t.Errorf("Dimensions, Version, Model = %d, %q, %q", h.Dimensions(), h.Version(), h.Model())
	}
	in := []string{invoiceText, "Gesamtbetrag 1.234,56 €", "x", "ÉLÉPHANT naïve ﬁnal"}
	a, usage, err := h.Embed(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if usage.InputTokens != 0 || usage.CostUSD != 0 || usage.Attempts != 0 {
		t.Errorf("usage = %+v, want none", usage)
	}
	b, _, _ := newTestHashing(t, 384).Embed(context.Background(), in)
	for i := range in {
		if len(a[i]) != 384 || math.Abs(norm2(a[i])-1) > 1e-6 {
			t.Errorf("vector %d: length %d, norm %v", i, len(a[i]), norm2(a[i]))
		}
		if !slices.Equal(a[i], b[i]) {
			t.Errorf("vector %d differs between two embedders", i)
		}
	}
	// Pinned digests of in[0] and in[1]: a change to the features, the
	// weights or the hashing must come with a new HashingVersion, since
	// stored vectors would no longer compare with new ones.
	for i, want := range []string{"48772e24a77cb93a", "cc59e4341f47b7a5"} {
		if got := digest(a[i]); got != want {
			t.Errorf("hashing/1 of text %d has digest %s, pinned %s: bump HashingVersion if the change is meant", i, got, want)
		}
	}
	for _, empty := range []string{"", "   ", "-- / …"} {
		if v := h.Vector(empty); len(v) != 384 || norm2(v) != 0 {
			t.Errorf("Vector(%q) is not the zero vector", empty)
		}
	}
	if v := newTestHashing(t, 16).Vector("hello"); len(v) != 16 {
		t.Errorf("%d dimensions, want 16", len(v))
	}
	if _, err := NewHashing(HashingConfig{Dimensions: -1}); err == nil {
		t.Error("negative dimensions accepted")
	}
}

// digest is a short hash of a vector's float32 bits.
func digest(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))[:16]
}

func TestHashingFolds(t *testing.T) {
	h := newTestHashing(t, 384)
	for _, tt := range [][2]string{
		{"Größe", "GROSSE"},
		{"élève naïve", "eleve naive"},
		{"ﬁnal ﬂow", "final flow"}, // ligatures, as PDFs give them
		{"Rechnung: 42", "rechnung 42"},
		{"Ærø Łódź", "aero lodz"},
	} {
		if c := cosine(h.Vector(tt[0]), h.Vector(tt[1])); c < 0.9999 {
			t.Errorf("cos(%q, %q) = %.4f, want the same vector", tt[0], tt[1], c)
		}
	}
	var s hashScratch
	s.fold("  Straße-ÀÉÎ, No.7 ")
	var words []string
	for _, w := range s.words {
		words = append(words, string(s.text[w[0]:w[1]]))
	}
	if want := []string{"strasse", "aei", "no", "7"}; !slices.Equal(words, want) {
		t.Errorf("words = %q, want %q", words, want)
	}
}

func TestHashingSimilarity(t *testing.T) {
	h := newTestHashing(t, 384)
	cos := func(a, b string) float64 { return cosine(h.Vector(a), h.Vector(b)) }
	edited := strings.NewReplacer("Rechnungsdatum", "Rechnungs-Datum", "Zahlbar", "zahlbar", "Lieferung", "Liefrung", "Bankverbindung", "Bankverbindungen").Replace(invoiceText)
	same, other := cos(invoiceText, edited), cos(invoiceText, unrelatedText)
	t.Logf("edited %.3f, unrelated %.3f", same, other)
	if same < 0.8 || same <= other+0.5 {
		t.Errorf("cos(text, lightly edited) = %.3f, cos(text, unrelated) = %.3f", same, other)
	}
	pairs := []struct{ a, b, unrelated string }{
		{"Rechnung", "Rechnungen", "Lieferschein"},
		{"Rechnungsnummer der Rechnung", "Rechnungen und Rechnungsnummern", "Wetterbericht für morgen"},
		{"facture", "factures", "livraison"},
		{"montant total de la facture", "montants totaux des factures", "conditions générales de vente"},
		{"invoice total", "invoices totals", "weather forecast"},
		{"Zahlungsbedingungen", "Zahlungsbedingung", "Umsatzsteuer"},
		{"Mehrwertsteuer", "Mehrwertsteur", "Bankverbindung"}, // a typo
	}
	for _, p := range pairs {
		near, far := cos(p.a, p.b), cos(p.a, p.unrelated)
		t.Logf("%q: %q %.3f, %q %.3f", p.a, p.b, near, p.unrelated, far)
		if near < 0.3 || near < far+0.2 {
			t.Errorf("cos(%q, %q) = %.3f is not well above cos(%q, %q) = %.3f", p.a, p.b, near, p.a, p.unrelated, far)
		}
	}
}

func TestHashingHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := newTestHashing(t, 384).Embed(ctx, []string{"a"}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestFNV1aIsHashFNV(t *testing.T) {
	for _, s := range []string{"", "a", "rechnung", "größe"} {
		f := fnv.New64a()
		f.Write([]byte(s))
		if got := fnv1a(fnvOffset64, []byte(s)); got != f.Sum64() {
			t.Errorf("fnv1a(%q) = %x, hash/fnv %x", s, got, f.Sum64())
		}
	}
}

func TestNormalize(t *testing.T) {
	v := []float32{3, 4}
	if !normalize(v) || v[0] != 0.6 || v[1] != 0.8 {
		t.Errorf("normalize([3 4]) = %v", v)
	}
	unit := []float32{0.6, 0.8}
	if !normalize(unit) || unit[0] != 0.6 || unit[1] != 0.8 {
		t.Errorf("a unit vector changed: %v", unit)
	}
	zero := []float32{0, 0}
	if !normalize(zero) || zero[0] != 0 {
		t.Errorf("zero = %v", zero)
	}
	if normalize([]float32{float32(math.NaN()), 1}) || normalize([]float32{float32(math.Inf(1))}) {
		t.Error("NaN or Inf accepted")
	}
}

const invoiceText = `ACME Supplies GmbH · Hauptstraße 1 · 10115 Berlin
Rechnung Nr. RE-2024-0042
Rechnungsdatum: 05.03.2024 Lieferung: 01.03.2024
Pos. Beschreibung Menge Einzelpreis Gesamt
1 Druckerpapier A4, 80 g/m², 500 Blatt 10 4,99 € 49,90 €
2 Toner schwarz für LaserJet Pro 2 89,00 € 178,00 €
Nettobetrag 227,90 € zzgl. 19 % MwSt. 43,30 € Gesamtbetrag 271,20 €
Zahlbar innerhalb von 14 Tagen ohne Abzug.
Bankverbindung: Berliner Sparkasse IBAN DE89 3704 0044 0532 0130 00`

const unrelatedText = `The committee met on Tuesday to discuss the spring garden festival.
Volunteers will plant tulips along the river path, and the children's choir
will sing in the park pavilion. Tea and cake are served after the concert.`

// chunk400 is about 400 cl100k tokens of invoice text, like a chunk.
func chunk400(tb testing.TB) string {
	var b strings.Builder
	for i := 0; b.Len() < 1400; i++ {
		fmt.Fprintf(&b, "%s\n", strings.ReplaceAll(invoiceText, "42", fmt.Sprint(i)))
		b.WriteString(unrelatedText)
	}
	codec, err := tokenizer.Get(tokenizer.Cl100kBase)
	if err != nil {
		tb.Fatal(err)
	}
	text := b.String()
	for n, _ := codec.Count(text); n > 400; n, _ = codec.Count(text) {
		text = text[:strings.LastIndexByte(text[:len(text)-1], ' ')]
	}
	return text
}

// BenchmarkHashing embeds 400-token chunks, one by one, and reports
// texts/s.
func BenchmarkHashing(b *testing.B) {
	h := newTestHashing(b, 384)
	text := chunk400(b)
	b.Logf("a chunk of %d bytes, %d words", len(text), len(strings.Fields(text)))
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.Vector(text)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
}

// BenchmarkHashingParallel is the same over all CPUs.
func BenchmarkHashingParallel(b *testing.B) {
	h := newTestHashing(b, 384)
	text := chunk400(b)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.Vector(text)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
}

func TestHashingConcurrentUse(t *testing.T) {
	h := newTestHashing(t, 384)
	in := []string{invoiceText, unrelatedText, "Rechnung", ""}
	want, _, _ := h.Embed(context.Background(), in)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				k := (g + i) % len(in)
				if got := h.Vector(in[k]); !slices.Equal(got, want[k]) {
					t.Errorf("concurrent Vector(%d) differs", k)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzHashing(f *testing.F) {
	for _, s := range []string{"", "Rechnung", invoiceText, "ﬁ\u0301\xff\xfeß", "日本語のテキスト", "a\u0300\u0300\u0300"} {
		f.Add(s)
	}
	h := newTestHashing(f, 64)
	f.Fuzz(func(t *testing.T, text string) {
		v := h.Vector(text)
		if n := norm2(v); len(v) != 64 || math.IsNaN(n) || (n != 0 && math.Abs(n-1) > 1e-5) {
			t.Errorf("Vector(%q): length %d, norm %v", text, len(v), n)
		}
		if !slices.Equal(v, h.Vector(text)) {
			t.Errorf("Vector(%q) is not deterministic", text)
		}
	})
}
