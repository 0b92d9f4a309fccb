package extract

import "unicode/utf8"

// Hand-written scanners for the patterns every line of every document is
// searched with: numbers and numeric dates. Each returns exactly what the
// regular expression in its comment returns with FindAllStringIndex or
// FindAllStringSubmatchIndex (leftmost-first, the same submatches, the same
// non-overlapping order); TestScannersMatchTheirPatterns and FuzzScanners
// hold them to it. They exist because the regexp package's backtracker
// spent a third of the offline extractor's time trying these patterns at
// every byte of every line.

// NumberRuns is `\d[\d.,'’]*`.FindAllStringIndex(s, -1): runs of digits
// and the separators printed inside numbers.
func NumberRuns(s string) [][]int {
	var out [][]int
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(s) {
			if isDigit(s[j]) || s[j] == '.' || s[j] == ',' || s[j] == '\'' {
				j++
			} else if s[j] == 0xE2 && j+2 < len(s) && s[j+1] == 0x80 && s[j+2] == 0x99 { // ’
				j += 3
			} else {
				break
			}
		}
		out = append(out, []int{i, j})
		i = j
	}
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isSpace is the regexp package's \s: [\t\n\f\r ].
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

func isDateSep(c byte) bool { return c == '.' || c == '/' || c == '-' }

// runeAt is the width of the rune at s[i] as the regexp package steps over
// it (an invalid byte is one rune of width 1).
func runeAt(s string, i int) int {
	if s[i] < utf8.RuneSelf {
		return 1
	}
	_, n := utf8.DecodeRuneInString(s[i:])
	return n
}

// digitsAt reports whether s[i:i+n] are n digits.
func digitsAt(s string, i, n int) bool {
	if i+n > len(s) {
		return false
	}
	for k := i; k < i+n; k++ {
		if !isDigit(s[k]) {
			return false
		}
	}
	return true
}

// endAt is (?:$|[^\d]) at i: where the match ends, -1 when it cannot.
func endAt(s string, i int) int {
	switch {
	case i == len(s):
		return i
	case isDigit(s[i]):
		return -1
	}
	return i + runeAt(s, i)
}

// findAll runs an anchored matcher at every start position the leading
// (?:^|[^...]) allows, in the order the regexp package tries them, and
// collects non-overlapping matches. notBefore tells the bytes the leading
// class excludes; at returns the submatch indices of a match whose core
// (after the leading part) starts at core and whose whole match starts at
// start, or nil.
func findAll(s string, notBefore func(byte) bool, at func(start, core int) []int) [][]int {
	var out [][]int
	for p := 0; p <= len(s); {
		var m []int
		if p == 0 {
			m = at(0, 0) // ^
		}
		if m == nil && p < len(s) && !notBefore(s[p]) {
			m = at(p, p+runeAt(s, p))
		}
		if m == nil {
			if p == len(s) {
				break
			}
			p += runeAt(s, p)
			continue
		}
		out = append(out, m)
		if m[1] == p { // an empty match cannot happen here; kept for safety
			if p == len(s) {
				break
			}
			p += runeAt(s, p)
			continue
		}
		p = m[1]
	}
	return out
}

func notNumDateBefore(c byte) bool { return isDigit(c) || c == '.' || c == ',' || c == '/' || c == '-' }

// NumDates is
// `(?:^|[^\d.,/-])(\d{1,2})\s?([./-])\s?(\d{1,2})\s?([./-])\s?(\d{4}|\d{2})(?:$|[^\d])`
// .FindAllStringSubmatchIndex(s, -1).
func NumDates(s string) [][]int {
	return findAll(s, notNumDateBefore, func(start, core int) []int {
		// (\d{1,2}) greedy, \s? greedy, in the order a backtracker tries them.
		for n1 := 2; n1 >= 1; n1-- {
			if !digitsAt(s, core, n1) {
				continue
			}
			a := core + n1
			s1s, s1n := optSpace(s, a)
			for _, s1 := range s1s[:s1n] {
				if s1 >= len(s) || !isDateSep(s[s1]) {
					continue
				}
				sep1 := s1
				s2s, s2n := optSpace(s, sep1+1)
				for _, s2 := range s2s[:s2n] {
					for n2 := 2; n2 >= 1; n2-- {
						if !digitsAt(s, s2, n2) {
							continue
						}
						b := s2 + n2
						s3s, s3n := optSpace(s, b)
						for _, s3 := range s3s[:s3n] {
							if s3 >= len(s) || !isDateSep(s[s3]) {
								continue
							}
							sep2 := s3
							s4s, s4n := optSpace(s, sep2+1)
							for _, s4 := range s4s[:s4n] {
								for _, n3 := range [2]int{4, 2} {
									if !digitsAt(s, s4, n3) {
										continue
									}
									if e := endAt(s, s4+n3); e >= 0 {
										return []int{start, e, core, a, sep1, sep1 + 1, s2, b, sep2, sep2 + 1, s4, s4 + n3}
									}
								}
							}
						}
					}
				}
			}
		}
		return nil
	})
}

// optSpace is \s? at i: the positions after it, the greedy choice first
// (ends[:n]).
func optSpace(s string, i int) (ends [2]int, n int) {
	if i < len(s) && isSpace(s[i]) {
		return [2]int{i + 1, i}, 2
	}
	return [2]int{i, i}, 1
}

// ISODates is
// `(?:^|[^\d.,/-])(\d{4})([-/.])(\d{1,2})([-/.])(\d{1,2})(?:$|[^\d])`
// .FindAllStringSubmatchIndex(s, -1).
func ISODates(s string) [][]int {
	return findAll(s, notNumDateBefore, func(start, core int) []int {
		if !digitsAt(s, core, 4) || core+4 >= len(s) || !isDateSep(s[core+4]) {
			return nil
		}
		sep1 := core + 4
		for n2 := 2; n2 >= 1; n2-- {
			if !digitsAt(s, sep1+1, n2) {
				continue
			}
			b := sep1 + 1 + n2
			if b >= len(s) || !isDateSep(s[b]) {
				continue
			}
			for n3 := 2; n3 >= 1; n3-- {
				if !digitsAt(s, b+1, n3) {
					continue
				}
				if e := endAt(s, b+1+n3); e >= 0 {
					return []int{start, e, core, core + 4, sep1, sep1 + 1, sep1 + 1, b, b, b + 1, b + 1, b + 1 + n3}
				}
			}
		}
		return nil
	})
}

// BasicDates is `(?:^|[^\d])((?:19|20)\d{6})(?:$|[^\d])`
// .FindAllStringSubmatchIndex(s, -1).
func BasicDates(s string) [][]int {
	return findAll(s, isDigit, func(start, core int) []int {
		if !digitsAt(s, core, 8) || !(s[core] == '1' && s[core+1] == '9' || s[core] == '2' && s[core+1] == '0') {
			return nil
		}
		if e := endAt(s, core+8); e >= 0 {
			return []int{start, e, core, core + 8}
		}
		return nil
	})
}
