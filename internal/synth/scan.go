package synth

import (
	"bytes"
	"cmp"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scanned invoices: the same documents as Invoice, printed and scanned or
// photographed. Each page is rendered to a grey image with poppler's
// pdftoppm, degraded like a scanner or a phone camera would (turned
// sideways or upside down, a slight skew, blur, noise, grey paper, uneven
// light, JPEG compression), and wrapped as an image-only PDF, a PNG, a JPEG
// or a multi-page TIFF. The labels are the born-digital twin's. Output is a
// pure function of the options on a given machine (the page images depend on
// the installed pdftoppm).

// ScanFormat is the file type of a scanned invoice.
type ScanFormat string

// Scan formats.
const (
	ScanPDF  ScanFormat = "pdf"
	ScanPNG  ScanFormat = "png"
	ScanJPEG ScanFormat = "jpeg"
	ScanTIFF ScanFormat = "tiff"
)

var scanFormats = []ScanFormat{ScanPDF, ScanPNG, ScanJPEG, ScanTIFF}

func (f ScanFormat) ext() string {
	switch f {
	case ScanJPEG:
		return ".jpg"
	case ScanTIFF:
		return ".tif"
	}
	return "." + string(f)
}

// Profile is a family of degradations.
type Profile string

// Profiles.
const (
	// ProfileScanner: a flatbed or feeder scan: up to 1.5 degrees of skew,
	// light blur and noise, off-white paper, JPEG quality 60-70, 300 dpi.
	ProfileScanner Profile = "scanner"
	// ProfilePhone: a phone photo of a page: up to 3 degrees of skew, more
	// blur and noise, grey paper with uneven light, JPEG quality 50-60,
	// 200 dpi.
	ProfilePhone Profile = "phone"
	// ProfileSideways: a scan of a page fed turned by 90, 180 or 270
	// degrees.
	ProfileSideways Profile = "sideways"
)

// profiles weighs the profiles drawn per document: half scanner, 30 %
// phone, 20 % sideways.
var profiles = []Profile{ProfileScanner, ProfileScanner, ProfileScanner, ProfileScanner, ProfileScanner,
	ProfilePhone, ProfilePhone, ProfilePhone, ProfileSideways, ProfileSideways}

// Degradation is what happens to a page image between the printer and the
// file.
type Degradation struct {
	// Turn is how far the page is turned clockwise: 0, 90, 180 or 270.
	Turn int `json:"turn,omitempty"`
	// Skew is a small rotation, in degrees, counter-clockwise (text rising
	// to the right).
	Skew float64 `json:"skew,omitempty"`
	// Blur is a Gaussian blur's sigma, in pixels.
	Blur float64 `json:"blur,omitempty"`
	// Noise is the sigma of Gaussian noise, in grey levels.
	Noise float64 `json:"noise,omitempty"`
	// Paper is the grey of blank paper (255: white; 0 means 255).
	Paper int `json:"paper,omitempty"`
	// Shade darkens the page towards one corner by up to this share
	// (uneven light on a photo).
	Shade float64 `json:"shade,omitempty"`
	// Threshold, when set, turns the image black and white like a fax:
	// darker than this becomes black, the rest white.
	Threshold int `json:"threshold,omitempty"`
	// Quality is the JPEG quality the image is compressed at (1-100); 0
	// keeps it lossless.
	Quality int `json:"quality,omitempty"`
}

func (d Degradation) String() string {
	var parts []string
	if d.Turn != 0 {
		parts = append(parts, fmt.Sprintf("turned %d", d.Turn))
	}
	if d.Skew != 0 {
		parts = append(parts, fmt.Sprintf("skew %.2f", d.Skew))
	}
	if d.Blur != 0 {
		parts = append(parts, fmt.Sprintf("blur %.2f", d.Blur))
	}
	if d.Noise != 0 {
		parts = append(parts, fmt.Sprintf("noise %.1f", d.Noise))
	}
	if d.Paper != 0 && d.Paper != 255 {
		parts = append(parts, fmt.Sprintf("paper %d", d.Paper))
	}
	if d.Shade != 0 {
		parts = append(parts, fmt.Sprintf("shade %.2f", d.Shade))
	}
	if d.Threshold != 0 {
		parts = append(parts, fmt.Sprintf("black and white at %d", d.Threshold))
	}
	if d.Quality != 0 {
		parts = append(parts, fmt.Sprintf("jpeg q%d", d.Quality))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// ScanOptions configures scanned invoices.
type ScanOptions struct {
	// Options choose the documents (Seed, Count, Noise), as for Generate.
	Options
	// Format is the file type; "" draws one per document. Multi-page
	// documents asked for as PNG or JPEG become TIFFs (the notes say so).
	Format ScanFormat
	// Profile chooses the degradations; "" draws one per document (half
	// scanner, 30 % phone, 20 % sideways).
	Profile Profile
	// Degradation, when set, is used for every document instead of one
	// drawn from the profile.
	Degradation *Degradation
	// DPI is the scan resolution; 0 takes the profile's.
	DPI int
	// Pdftoppm is the program that renders pages (default: found in PATH).
	Pdftoppm string
}

// ScanFamily is the folder under files/ that holds scanned invoices.
const ScanFamily = "scan"

// ScannedInvoice makes document i of the run described by opts: the
// born-digital invoice Invoice(opts.Options, i) makes, scanned. It returns
// the file's bytes, its format and its dataset row (id "scan-NNNN", the
// twin's labels, notes naming the twin and the degradation).
func ScannedInvoice(ctx context.Context, opts ScanOptions, i int) ([]byte, ScanFormat, Row, error) {
	pdfData, row, err := Invoice(opts.Options, i)
	if err != nil {
		return nil, "", Row{}, err
	}
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x5ca40000+uint64(i)))
	profile := opts.Profile
	if profile == "" {
		profile = pick(rng, profiles)
	}
	deg, dpi := drawDegradation(rng, profile)
	if opts.Degradation != nil {
		deg = *opts.Degradation
	}
	if opts.DPI > 0 {
		dpi = opts.DPI
	}
	format := opts.Format
	if format == "" {
		format = pick(rng, scanFormats)
	}
	noiseSeed := rng.Uint64()
	pages, err := Rasterize(ctx, opts.Pdftoppm, pdfData, dpi)
	if err != nil {
		return nil, "", Row{}, fmt.Errorf("synth: %s: %w", row.ID, err)
	}
	var note string
	if len(pages) > 1 && (format == ScanPNG || format == ScanJPEG) {
		note = fmt.Sprintf("; %d pages, so TIFF instead of %s", len(pages), format)
		format = ScanTIFF
	}
	for k, p := range pages {
		pages[k] = Degrade(p, deg, noiseSeed+uint64(k))
	}
	data, err := ScanFile(pages, format, deg.Quality, dpi, row.ID)
	if err != nil {
		return nil, "", Row{}, fmt.Errorf("synth: %s: %w", row.ID, err)
	}
	twin := row.ID
	row.ID = strings.Replace(row.ID, Family+"-", ScanFamily+"-", 1)
	row.File = "files/" + ScanFamily + "/" + row.ID + format.ext()
	row.Group = strings.Replace(row.Group, Family+":", ScanFamily+":", 1)
	row.Notes = fmt.Sprintf("scanned %s of %s (%s) at %d dpi, %s: %s%s",
		format, twin, strings.TrimPrefix(row.Notes, "synthetic; "), dpi, profile, deg, note)
	return data, format, row, nil
}

// drawDegradation draws a profile's degradation and resolution.
func drawDegradation(rng *rand.Rand, p Profile) (Degradation, int) {
	u := func(lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }
	sign := func() float64 { return float64(1 - 2*rng.IntN(2)) }
	r2 := func(v float64) float64 { return math.Round(v*100) / 100 }
	switch p {
	case ProfilePhone:
		return Degradation{Skew: r2(sign() * u(0.5, 3)), Blur: r2(u(0.8, 1.3)), Noise: r2(u(4, 9)),
			Paper: 200 + rng.IntN(30), Shade: r2(u(0.1, 0.3)), Quality: 50 + rng.IntN(11)}, 200
	case ProfileSideways:
		d, dpi := drawDegradation(rng, ProfileScanner)
		d.Turn = 90 * (1 + rng.IntN(3))
		return d, dpi
	}
	return Degradation{Skew: r2(sign() * u(0, 1.5)), Blur: r2(u(0.4, 0.8)), Noise: r2(u(2, 6)),
		Paper: 230 + rng.IntN(20), Quality: 60 + rng.IntN(11)}, 300
}

// GenerateScanned writes dir/dataset.jsonl and dir/files/scan/scan-NNNN.*
// for opts.Count scanned invoices (see ScannedInvoice). Stale scan-* files
// from an earlier run are removed; nothing else in dir is touched.
func GenerateScanned(ctx context.Context, dir string, opts ScanOptions) error {
	if opts.Count < 0 || opts.Count > MaxCount {
		return fmt.Errorf("synth: count %d out of range 0..%d", opts.Count, MaxCount)
	}
	files := filepath.Join(dir, "files", ScanFamily)
	if err := os.MkdirAll(files, 0o755); err != nil {
		return err
	}
	rows := make([]Row, 0, opts.Count)
	keep := map[string]bool{}
	for i := range opts.Count {
		data, _, row, err := ScannedInvoice(ctx, opts, i)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(row.File)), data, 0o644); err != nil {
			return err
		}
		keep[filepath.Base(row.File)] = true
		rows = append(rows, row)
	}
	old, err := filepath.Glob(filepath.Join(files, ScanFamily+"-*"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if !keep[filepath.Base(f)] {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	slices.SortFunc(rows, func(a, b Row) int { return strings.Compare(a.ID, b.ID) })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "dataset.jsonl"), buf.Bytes(), 0o644)
}

// Rasterize renders every page of a PDF to a grey image at dpi with
// pdftoppm (program; "" finds it in PATH).
func Rasterize(ctx context.Context, program string, pdf []byte, dpi int) ([]*image.Gray, error) {
	if program == "" {
		program = "pdftoppm"
	}
	path, err := exec.LookPath(program)
	if err != nil {
		return nil, fmt.Errorf("rendering needs pdftoppm (Debian package poppler-utils): %w", err)
	}
	var pages []*image.Gray
	for n := 1; ; n++ {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		cmd := exec.CommandContext(cctx, path, "-r", strconv.Itoa(dpi), "-gray", "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), "-")
		cmd.Stdin = bytes.NewReader(pdf)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		cancel()
		if n > 1 && len(out) == 0 && (err == nil || strings.Contains(stderr.String(), "Wrong page range")) {
			return pages, nil // past the last page
		}
		if err != nil {
			return nil, fmt.Errorf("pdftoppm page %d: %v: %s", n, err, strings.TrimSpace(stderr.String()))
		}
		img, err := readPGM(out)
		if err != nil {
			return nil, fmt.Errorf("pdftoppm page %d: %w", n, err)
		}
		pages = append(pages, img)
	}
}

// readPGM reads a binary 8-bit PGM as pdftoppm writes it.
func readPGM(data []byte) (*image.Gray, error) {
	var w, h, maxv int
	var magic string
	r := bytes.NewReader(data)
	if _, err := fmt.Fscan(r, &magic, &w, &h, &maxv); err != nil || magic != "P5" || maxv != 255 || w <= 0 || h <= 0 {
		return nil, fmt.Errorf("not an 8-bit binary PGM")
	}
	if _, err := r.ReadByte(); err != nil {
		return nil, err
	}
	pix := data[len(data)-r.Len():]
	if len(pix) < w*h {
		return nil, fmt.Errorf("PGM is short")
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	copy(img.Pix, pix[:w*h])
	return img, nil
}

// Degrade applies d to a page image, all but the JPEG compression, which
// happens when the image is written (ScanFile); seed draws the noise.
func Degrade(src *image.Gray, d Degradation, seed uint64) *image.Gray {
	img := src
	paper := d.Paper
	if paper <= 0 || paper > 255 {
		paper = 255
	}
	if d.Skew != 0 {
		img = skew(img, d.Skew)
	}
	if d.Blur > 0 {
		img = gaussianBlur(img, d.Blur)
	} else if img == src {
		img = cloneGray(src)
	}
	// Paper, light and noise: ink stays dark, white becomes the paper's
	// grey, one corner gets darker.
	rng := rand.New(rand.NewPCG(seed, 0x0e15e))
	b := img.Bounds()
	w, h := float64(b.Dx()), float64(b.Dy())
	for y := 0; y < b.Dy(); y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+b.Dx()]
		for x := range row {
			v := float64(row[x]) * float64(paper) / 255
			if d.Shade > 0 {
				v *= 1 - d.Shade*(float64(x)/w+float64(y)/h)/2
			}
			if d.Noise > 0 {
				v += rng.NormFloat64() * d.Noise
			}
			if d.Threshold > 0 {
				v = 255 * float64(b2i(v >= float64(d.Threshold)))
			}
			row[x] = uint8(min(max(math.Round(v), 0), 255))
		}
	}
	if d.Turn != 0 {
		img = turnGray(img, d.Turn)
	}
	return img
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func cloneGray(src *image.Gray) *image.Gray {
	dst := image.NewGray(src.Bounds())
	copy(dst.Pix, src.Pix)
	return dst
}

// skew rotates an image by deg degrees counter-clockwise about its centre,
// keeping its size, with bilinear sampling and white outside.
func skew(src *image.Gray, deg float64) *image.Gray {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := image.NewGray(b)
	rad := deg * math.Pi / 180
	c, s := math.Cos(rad), math.Sin(rad)
	cx, cy := float64(w)/2, float64(h)/2
	at := func(x, y int) float64 {
		if x < 0 || y < 0 || x >= w || y >= h {
			return 255
		}
		return float64(src.Pix[y*src.Stride+x])
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			// The source of destination pixel (x, y): turned back
			// clockwise (y grows downwards).
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			sx := c*dx - s*dy + cx - 0.5
			sy := s*dx + c*dy + cy - 0.5
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			fx, fy := sx-float64(x0), sy-float64(y0)
			v := at(x0, y0)*(1-fx)*(1-fy) + at(x0+1, y0)*fx*(1-fy) + at(x0, y0+1)*(1-fx)*fy + at(x0+1, y0+1)*fx*fy
			dst.Pix[y*dst.Stride+x] = uint8(math.Round(v))
		}
	}
	return dst
}

// gaussianBlur blurs with a separable Gaussian kernel of the given sigma.
func gaussianBlur(src *image.Gray, sigma float64) *image.Gray {
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	var sum float64
	for i := range k {
		x := float64(i - r)
		k[i] = math.Exp(-x * x / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	tmp := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var v float64
			for i, kv := range k {
				xx := min(max(x+i-r, 0), w-1)
				v += kv * float64(src.Pix[y*src.Stride+xx])
			}
			tmp[y*w+x] = v
		}
	}
	dst := image.NewGray(b)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var v float64
			for i, kv := range k {
				yy := min(max(y+i-r, 0), h-1)
				v += kv * tmp[yy*w+x]
			}
			dst.Pix[y*dst.Stride+x] = uint8(min(max(math.Round(v), 0), 255))
		}
	}
	return dst
}

// turnGray turns an image clockwise by 90, 180 or 270 degrees.
func turnGray(src *image.Gray, deg int) *image.Gray {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	var dst *image.Gray
	switch deg {
	case 90:
		dst = image.NewGray(image.Rect(0, 0, h, w))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ { // (x, y) -> (h-1-y, x)
				dst.Pix[x*dst.Stride+h-1-y] = src.Pix[y*src.Stride+x]
			}
		}
	case 180:
		dst = image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				dst.Pix[(h-1-y)*dst.Stride+w-1-x] = src.Pix[y*src.Stride+x]
			}
		}
	case 270:
		dst = image.NewGray(image.Rect(0, 0, h, w))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ { // (x, y) -> (y, w-1-x)
				dst.Pix[(w-1-x)*dst.Stride+y] = src.Pix[y*src.Stride+x]
			}
		}
	default:
		return src
	}
	return dst
}

// ScanFile writes page images as a file of the given format that declares
// dpi: a PNG or JPEG of the first page, a multi-page TIFF, or an image-only
// PDF (title names it). quality > 0 compresses with JPEG at that quality
// (a PNG gets a JPEG round trip first, so it shows the same artefacts);
// 0 is lossless (a JPEG file then uses quality 90).
func ScanFile(pages []*image.Gray, format ScanFormat, quality, dpi int, title string) ([]byte, error) {
	if len(pages) == 0 {
		return nil, errors.New("no pages")
	}
	var buf bytes.Buffer
	switch format {
	case ScanPNG:
		img := pages[0]
		if quality > 0 {
			var err error
			if img, err = jpegRoundTrip(img, quality); err != nil {
				return nil, err
			}
		}
		err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img)
		return withPNGResolution(buf.Bytes(), dpi), err
	case ScanJPEG:
		err := jpeg.Encode(&buf, pages[0], &jpeg.Options{Quality: cmp.Or(quality, 90)})
		return withJFIFResolution(buf.Bytes(), dpi), err
	case ScanTIFF:
		o := TIFFOptions{DPI: dpi, Compression: TIFFDeflate}
		if quality > 0 {
			o.Compression, o.Quality = TIFFJPEG, quality
		}
		err := WriteTIFF(&buf, pages, o)
		return buf.Bytes(), err
	case ScanPDF:
		return imagePDF(pages, quality, dpi, title)
	}
	return nil, fmt.Errorf("unknown scan format %q", format)
}

func jpegRoundTrip(img *image.Gray, quality int) (*image.Gray, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, err
	}
	dec, err := jpeg.Decode(&buf)
	if err != nil {
		return nil, err
	}
	if g, ok := dec.(*image.Gray); ok {
		return g, nil
	}
	return nil, errors.New("JPEG round trip did not give a grey image")
}

// imagePDF wraps page images as an image-only PDF, each image filling a
// page of its size at dpi: JPEG (DCTDecode) at quality, or, with quality
// 0, the grey pixels deflated (FlateDecode). It writes the objects itself,
// in page order: go-pdf/fpdf writes images in map order when they have the
// same width, so two runs gave different bytes.
func imagePDF(pages []*image.Gray, quality, dpi int, title string) ([]byte, error) {
	var out bytes.Buffer
	var offsets []int
	obj := func(body string, stream []byte) {
		offsets = append(offsets, out.Len())
		fmt.Fprintf(&out, "%d 0 obj\n%s\n", len(offsets), body)
		if stream != nil {
			out.WriteString("stream\n")
			out.Write(stream)
			out.WriteString("\nendstream\n")
		}
		out.WriteString("endobj\n")
	}
	out.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	// 1 catalog, 2 page tree, 3 info; then per page: page, content, image.
	kids := make([]string, len(pages))
	for k := range pages {
		kids[k] = fmt.Sprintf("%d 0 R", 4+3*k)
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>", nil)
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages)), nil)
	obj(fmt.Sprintf("<< /Title %s /Creator (extractor internal/synth \\(scanned\\)) /CreationDate (D:20240101090000Z) /ModDate (D:20240101090000Z) >>", pdfString(title)), nil)
	for k, img := range pages {
		var data bytes.Buffer
		filter := "/DCTDecode"
		if quality > 0 {
			if err := jpeg.Encode(&data, img, &jpeg.Options{Quality: quality}); err != nil {
				return nil, err
			}
		} else {
			filter = "/FlateDecode"
			zw := zlib.NewWriter(&data)
			b := img.Bounds()
			for y := b.Min.Y; y < b.Max.Y; y++ {
				i := img.PixOffset(b.Min.X, y)
				if _, err := zw.Write(img.Pix[i : i+b.Dx()]); err != nil {
					return nil, err
				}
			}
			if err := zw.Close(); err != nil {
				return nil, err
			}
		}
		w := float64(img.Bounds().Dx()) * 72 / float64(dpi)
		h := float64(img.Bounds().Dy()) * 72 / float64(dpi)
		n := 4 + 3*k
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /XObject << /Im%d %d 0 R >> >> /Contents %d 0 R >>",
			w, h, k+1, n+2, n+1), nil)
		content := []byte(fmt.Sprintf("q %.2f 0 0 %.2f 0 0 cm /Im%d Do Q", w, h, k+1))
		obj(fmt.Sprintf("<< /Length %d >>", len(content)), content)
		obj(fmt.Sprintf("<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter %s /Length %d >>",
			img.Bounds().Dx(), img.Bounds().Dy(), filter, data.Len()), data.Bytes())
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R /Info 3 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return out.Bytes(), nil
}

// pdfString is s as a PDF literal string, its delimiters and backslashes
// escaped.
func pdfString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`)
	return "(" + r.Replace(s) + ")"
}
