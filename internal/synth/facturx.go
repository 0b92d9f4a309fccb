package synth

import (
	"bytes"
	"compress/zlib"
	"crypto/md5"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// fpdf (v0.9.0) can embed files, but not the way Factur-X asks: its file
// specifications have no /AFRelationship, the catalog has no /AF array,
// the name tree keys are "Attachement1", ..., and the XMP metadata it
// writes is not referenced from the catalog. attachFacturX therefore adds
// the XML with an incremental update, as PDF tools do when they attach a
// file to an existing document: new objects for the embedded file, its
// file specification and the XMP packet, a new version of the catalog,
// and a cross-reference section that points back (/Prev) to fpdf's.

var (
	trailerRe   = regexp.MustCompile(`trailer\s*<<\s*/Size (\d+)\s*/Root (\d+) 0 R\s*/Info (\d+) 0 R\s*>>\s*startxref\s*(\d+)\s*%%EOF\s*$`)
	emptyNameRe = regexp.MustCompile(`/Names <<\s*/EmbeddedFiles << /Names \[\s*\] >>\s*>>`)
)

// attachFacturX attaches xml to the PDF as factur-x.xml with
// /AFRelationship /Data, lists it in the catalog's /AF and /Names, and
// adds XMP metadata with the Factur-X extension schema's properties.
// modDate is written as the file's modification date, so the output is a
// function of the inputs.
func attachFacturX(pdf, xml []byte, modDate time.Time, conformance string) ([]byte, error) {
	m := trailerRe.FindSubmatch(pdf)
	if m == nil {
		return nil, errors.New("attach: no fpdf trailer found")
	}
	size, _ := strconv.Atoi(string(m[1]))
	root, info := string(m[2]), string(m[3])
	prev := string(m[4])
	catRe := regexp.MustCompile(`(?s)\n` + root + ` 0 obj\n<<(.*?)>>\nendobj`)
	cm := catRe.FindSubmatch(pdf)
	if cm == nil {
		return nil, errors.New("attach: catalog not found")
	}
	catalog := emptyNameRe.ReplaceAll(cm[1], nil)
	if bytes.Contains(catalog, []byte("/Names")) {
		return nil, errors.New("attach: the catalog already has a name dictionary")
	}

	fileObj, specObj, xmpObj := size, size+1, size+2
	var out bytes.Buffer
	out.Write(pdf)
	offsets := map[int]int{}
	obj := func(n int, body string, stream []byte) {
		offsets[n] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s", n, body)
		if stream != nil {
			out.WriteString("\nstream\n")
			out.Write(stream)
			out.WriteString("\nendstream")
		}
		out.WriteString("\nendobj\n")
	}

	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(xml)
	zw.Close()
	sum := md5.Sum(xml)
	date := modDate.UTC().Format("D:20060102150405Z")
	obj(fileObj, fmt.Sprintf("<< /Type /EmbeddedFile /Subtype /text#2Fxml /Params << /ModDate (%s) /Size %d /CheckSum <%x> >> /Filter /FlateDecode /Length %d >>",
		date, len(xml), sum, z.Len()), z.Bytes())
	obj(specObj, fmt.Sprintf("<< /Type /Filespec /F (%s) /UF (%s) /AFRelationship /Data /Desc (Factur-X invoice) /EF << /F %d 0 R /UF %d 0 R >> >>",
		XMLName, XMLName, fileObj, fileObj), nil)
	xmp := xmpPacket(conformance)
	obj(xmpObj, fmt.Sprintf("<< /Type /Metadata /Subtype /XML /Length %d >>", len(xmp)), xmp)
	obj(atoi(root), fmt.Sprintf("<<%s/Names << /EmbeddedFiles << /Names [(%s) %d 0 R] >> >>\n/AF [%d 0 R]\n/Metadata %d 0 R\n>>",
		bytes.TrimRight(catalog, "\n"), XMLName, specObj, specObj, xmpObj), nil)

	xref := out.Len()
	fmt.Fprintf(&out, "xref\n%s 1\n%010d 00000 n \n%d 3\n", root, offsets[atoi(root)], fileObj)
	for _, n := range []int{fileObj, specObj, xmpObj} {
		fmt.Fprintf(&out, "%010d 00000 n \n", offsets[n])
	}
	fmt.Fprintf(&out, "trailer\n<<\n/Size %d\n/Root %s 0 R\n/Info %s 0 R\n/Prev %s\n>>\nstartxref\n%d\n%%%%EOF\n", size+3, root, info, prev, xref)
	return out.Bytes(), nil
}

// xmpPacket is the XMP metadata of a Factur-X file: the extension
// schema's properties only (the synthetic files are not PDF/A, so they do
// not claim to be).
func xmpPacket(conformance string) []byte {
	return []byte(`<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:fx="urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#">
   <fx:DocumentType>INVOICE</fx:DocumentType>
   <fx:DocumentFileName>` + XMLName + `</fx:DocumentFileName>
   <fx:Version>1.0</fx:Version>
   <fx:ConformanceLevel>` + conformance + `</fx:ConformanceLevel>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>`)
}
