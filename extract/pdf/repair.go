package pdf

import (
	"bytes"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
)

// objHeaderRe finds "N G obj" object headers at the start of a line or
// after whitespace.
var objHeaderRe = regexp.MustCompile(`(?:^|[\r\n\t \f])(\d{1,9})[\r\n\t \f]+(\d{1,5})[\r\n\t \f]+obj\b`)

type objLoc struct{ off, gen int }

// rebuildXref returns data with a freshly built cross-reference table and
// trailer appended, made by scanning the file for object headers, as
// poppler does when a file's own cross-reference data is missing or wrong
// (no startxref, offsets shifted by a careless transfer, a truncated
// download). The original trailer's /Root, /Info, /Encrypt and /ID are
// kept when found; an encrypted file without /ID gets an empty one, which
// is what readers assume. ok is false when no catalog can be found.
//
// Objects stored inside object streams cannot be listed in a classic
// table, so files that depend on those stay unreadable.
func rebuildXref(data []byte) ([]byte, bool) {
	objs := map[int]objLoc{}
	maxNum := 0
	for _, m := range objHeaderRe.FindAllSubmatchIndex(data, -1) {
		num, err1 := strconv.Atoi(string(data[m[2]:m[3]]))
		gen, err2 := strconv.Atoi(string(data[m[4]:m[5]]))
		if err1 != nil || err2 != nil || num <= 0 || num > 8_000_000 || gen > 65535 {
			continue
		}
		objs[num] = objLoc{off: m[2], gen: gen} // later definitions win, as with updates
		maxNum = max(maxNum, num)
	}
	if len(objs) == 0 {
		return nil, false
	}

	var root, info, encrypt int
	var id [][]byte
	for _, t := range trailerDicts(data) {
		if root == 0 {
			root = refNum(t["Root"], objs)
		}
		if info == 0 {
			info = refNum(t["Info"], objs)
		}
		if encrypt == 0 {
			encrypt = refNum(t["Encrypt"], objs)
		}
		if v, ok := t["ID"]; ok && v.kind == kArray && id == nil {
			for _, e := range v.arr {
				if e.kind == kString {
					id = append(id, e.str)
				}
			}
		}
	}
	if root == 0 {
		root = findCatalog(data, objs)
	}
	if root == 0 {
		return nil, false
	}

	var b bytes.Buffer
	b.Grow(len(data) + 20*(maxNum+1) + 256)
	b.Write(data)
	b.WriteString("\n")
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", maxNum+1)
	for n := 1; n <= maxNum; n++ {
		if o, ok := objs[n]; ok {
			fmt.Fprintf(&b, "%010d %05d n \n", o.off, o.gen)
		} else {
			b.WriteString("0000000000 65535 f \n")
		}
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d %d R", maxNum+1, root, objs[root].gen)
	if info != 0 {
		fmt.Fprintf(&b, " /Info %d %d R", info, objs[info].gen)
	}
	if encrypt != 0 {
		fmt.Fprintf(&b, " /Encrypt %d %d R", encrypt, objs[encrypt].gen)
		if len(id) == 0 {
			id = [][]byte{nil, nil}
		}
	}
	if len(id) > 0 {
		b.WriteString(" /ID [")
		for _, s := range id {
			fmt.Fprintf(&b, "<%x>", s)
		}
		b.WriteString("]")
	}
	fmt.Fprintf(&b, " >>\nstartxref\n%d\n%%%%EOF\n", xref)
	return b.Bytes(), true
}

// refNum returns the object number of a "N G R" value read by our lexer
// (which keeps the N) when that object exists.
func refNum(v object, objs map[int]objLoc) int {
	if v.kind != kNumber {
		return 0
	}
	n := int(v.num)
	if _, ok := objs[n]; !ok {
		return 0
	}
	return n
}

// findCatalog finds the object whose dictionary has /Type /Catalog (the
// last one, as with incremental updates).
func findCatalog(data []byte, objs map[int]objLoc) int {
	nums := slices.Sorted(maps.Keys(objs))
	for i := len(nums) - 1; i >= 0; i-- {
		n, o := nums[i], objs[nums[i]]
		if d := dictAt(data, o.off); d != nil && d["Type"].kind == kName && string(d["Type"].str) == "Catalog" {
			return n
		}
	}
	return 0
}
