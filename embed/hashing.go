package embed

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/extractor-dev/extractor/pipeline"
)

// HashingVersion is the version of the hashing embedder's code: a change
// to what it extracts, how it hashes or how it weighs changes it.
const HashingVersion = "hashing/1"

// HashingConfig configures the hashing embedder.
type HashingConfig struct {
	// Dimensions is the length of the vectors (default 384). More
	// dimensions mean fewer collisions between features.
	Dimensions int
}

// Hashing embeds texts offline by feature hashing, the "hashing trick":
// no model, no vocabulary, no network, no cost, and the same vector for
// the same text on every machine.
//
// A text is NFKD-normalized (which also undoes the ligatures and
// full-width forms PDFs are full of), lower-cased and stripped of accents
// ("Größe" reads "grosse"), and split into words at everything that is
// not a letter or a digit. Its features are
//
//   - every word (weight 1),
//   - every pair of neighbouring words (weight 0.5),
//   - every character 3-, 4- and 5-gram of every word that is not all
//     digits, with "<" and ">" marking its start and end (weight 0.35
//     each: a word has some twenty of them, which together outweigh the
//     word itself, so that inflections and compounds count).
//
// Each feature counts 1+ln(tf) times its weight (sublinear: a word
// repeated ten times is not ten times the evidence) and is added, with a
// sign from its hash, to one of the dimensions by a 64-bit FNV-1a hash;
// the sum is L2-normalized. The signs make collisions cancel out on
// average rather than pile up.
//
// What that gives: texts that share words, or pieces of words, are close.
// "Rechnung" and "Rechnungen", "facture" and "factures", a word and its
// typo, share most of their n-grams. What it does not give: meaning.
// Synonyms and translations ("invoice", "Rechnung", "facture") are
// unrelated to it, and frequent words ("der", "the") count like rare
// ones, as there are no corpus statistics. It is a baseline for lexical
// retrieval and an offline default, not a substitute for a neural model.
//
// A text with no letters or digits gets the zero vector. Hashing is safe
// for concurrent use.
type Hashing struct {
	dims    int
	scratch sync.Pool // *hashScratch
}

var _ pipeline.Embedder = (*Hashing)(nil)

// NewHashing returns a hashing embedder.
func NewHashing(cfg HashingConfig) (*Hashing, error) {
	switch {
	case cfg.Dimensions < 0:
		return nil, fmt.Errorf("embed: dimensions %d", cfg.Dimensions)
	case cfg.Dimensions == 0:
		cfg.Dimensions = 384
	}
	h := &Hashing{dims: cfg.Dimensions}
	h.scratch.New = func() any { return new(hashScratch) }
	return h, nil
}

// Model names the vectors' model: the code version, which is what makes
// two hashing vectors comparable (with equal Dimensions).
func (h *Hashing) Model() string { return HashingVersion }

// Dimensions returns the length of every vector.
func (h *Hashing) Dimensions() int { return h.dims }

// Version is "hashing/1 dims=D".
func (h *Hashing) Version() string { return fmt.Sprintf("%s dims=%d", HashingVersion, h.dims) }

// Embed returns Vector of each text, in order. It costs nothing: the
// usage is zero.
func (h *Hashing) Embed(ctx context.Context, texts []string) ([][]float32, pipeline.Usage, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if err := ctx.Err(); err != nil {
			return nil, pipeline.Usage{}, err
		}
		out[i] = h.Vector(t)
	}
	return out, pipeline.Usage{}, nil
}

// Feature kinds, kept in the low bits of a feature's hash so the same
// string as a word and as an n-gram are different features.
const (
	kindWord = iota
	kindPair
	kindGram
	kindBits = 2
)

// weight is what one occurrence of a feature of a kind counts.
func weight(kind uint64) float64 {
	switch kind {
	case kindWord:
		return 1
	case kindPair:
		return 0.5
	}
	return 0.35
}

// hashScratch holds the buffers of one Vector call, reused across calls.
type hashScratch struct {
	text  []byte   // the folded text: words separated by one space
	words [][2]int // byte offsets of the words in text
	keys  []uint64 // one per feature occurrence
	gram  []byte   // "<word>"
	runes []int    // byte offsets of the runes of gram
}

// Vector returns the unit vector of text (the zero vector when it has no
// letters or digits).
func (h *Hashing) Vector(text string) []float32 {
	s := h.scratch.Get().(*hashScratch)
	defer h.scratch.Put(s)
	s.fold(text)
	s.keys = s.keys[:0]
	for w, span := range s.words {
		word := s.text[span[0]:span[1]]
		s.keys = append(s.keys, key(kindWord, word, nil))
		if w > 0 {
			prev := s.words[w-1]
			s.keys = append(s.keys, key(kindPair, s.text[prev[0]:prev[1]], word))
		}
		if !allDigits(word) {
			s.grams(word)
		}
	}
	v := make([]float64, h.dims)
	// Sorted keys make the sum's order, so the float result, the same on
	// every run, and let a run of equal keys count a feature's tf.
	slices.Sort(s.keys)
	for i := 0; i < len(s.keys); {
		k := s.keys[i]
		j := i + 1
		for j < len(s.keys) && s.keys[j] == k {
			j++
		}
		// Rounded through float32 and converted explicitly, so neither
		// the last bits of Log nor a fused multiply-add (which Go allows
		// on some CPUs) can differ between machines.
		w := float64(weight(k&(1<<kindBits-1)) * float64(float32(1+math.Log(float64(j-i)))))
		m := mix(k)
		d := (m >> 32) * uint64(h.dims) >> 32
		if m&1 == 1 {
			w = -w
		}
		v[d] += w
		i = j
	}
	var ss float64
	for _, x := range v {
		ss += float64(x * x)
	}
	out := make([]float32, h.dims)
	if ss == 0 {
		return out
	}
	inv := 1 / math.Sqrt(ss)
	for i, x := range v {
		out[i] = float32(x * inv)
	}
	return out
}

// fold writes the text's words, NFKD-decomposed, stripped of combining
// marks, lower-cased and with a few letters that do not decompose spelled
// out, into s.text, and their offsets into s.words.
func (s *hashScratch) fold(text string) {
	s.text, s.words = s.text[:0], s.words[:0]
	start := -1
	end := func() {
		if start >= 0 {
			s.words = append(s.words, [2]int{start, len(s.text)})
			s.text = append(s.text, ' ')
			start = -1
		}
	}
	var it norm.Iter
	it.InitString(norm.NFKD, text)
	for !it.Done() {
		seg := it.Next()
		for len(seg) > 0 {
			r, size := utf8.DecodeRune(seg)
			seg = seg[size:]
			switch {
			case r < utf8.RuneSelf && ('a' <= r && r <= 'z' || '0' <= r && r <= '9'):
			case r < utf8.RuneSelf && 'A' <= r && r <= 'Z':
				r += 'a' - 'A'
			case unicode.Is(unicode.Mn, r):
				continue // a combining accent: part of the word, dropped
			case unicode.IsLetter(r) || unicode.IsDigit(r):
				r = unicode.ToLower(r)
			default:
				end()
				continue
			}
			if start < 0 {
				start = len(s.text)
			}
			if f := foldLetter(r); f != "" {
				s.text = append(s.text, f...)
			} else {
				s.text = utf8.AppendRune(s.text, r)
			}
		}
	}
	end()
}

// foldLetter spells out the Latin letters that NFKD leaves alone; "" for
// every other rune.
func foldLetter(r rune) string {
	if r < 0xDF {
		return ""
	}
	switch r {
	case 'ß':
		return "ss"
	case 'æ':
		return "ae"
	case 'œ':
		return "oe"
	case 'ø':
		return "o"
	case 'đ', 'ð':
		return "d"
	case 'ł':
		return "l"
	case 'þ':
		return "th"
	case 'ı':
		return "i"
	}
	return ""
}

// grams appends the keys of the 3- to 5-grams of "<word>", in runes.
func (s *hashScratch) grams(word []byte) {
	s.gram = append(append(append(s.gram[:0], '<'), word...), '>')
	s.runes = s.runes[:0]
	for i := range string(s.gram) { // no copy: the compiler ranges over the bytes
		s.runes = append(s.runes, i)
	}
	s.runes = append(s.runes, len(s.gram))
	n := len(s.runes) - 1 // runes in gram
	for size := 3; size <= 5; size++ {
		for i := 0; i+size <= n; i++ {
			s.keys = append(s.keys, key(kindGram, s.gram[s.runes[i]:s.runes[i+size]], nil))
		}
	}
}

func allDigits(word []byte) bool {
	for _, c := range word {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// FNV-1a, 64 bits (as hash/fnv's New64a), inlined to hash byte slices
// without an allocation per feature.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

func fnv1a(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime64
	}
	return h
}

// key hashes a feature: its kind, a, and when b is not nil a space and b;
// the kind goes in the low bits.
func key(kind uint64, a, b []byte) uint64 {
	h := fnv1a(fnvOffset64, []byte{byte(kind)})
	h = fnv1a(h, a)
	if b != nil {
		h = fnv1a(h, []byte{' '})
		h = fnv1a(h, b)
	}
	return h<<kindBits | kind
}

// mix spreads a key's bits (splitmix64's finalizer), so the dimension
// (from the high bits) and the sign (the low bit) are independent and
// FNV's weak low bits do not decide either.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
