package extract

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/sashabaranov/go-openai"

	"github.com/extractor-dev/extractor/internal/llmtest"
	"github.com/extractor-dev/extractor/pipeline"
)

// fakeImages renders each page as a w x h PNG, or fails for the pages in
// fail; it counts what it was asked for.
type fakeImages struct {
	w, h  int
	fail  map[int]bool
	asked []int
}

func (f *fakeImages) PageImage(_ context.Context, _ pipeline.Document, n int) (string, []byte, error) {
	f.asked = append(f.asked, n)
	if f.fail[n] {
		return "", nil, errors.New("pdftoppm failed")
	}
	img := image.NewGray(image.Rect(0, 0, f.w, f.h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	img.Set(0, 0, color.Gray{Y: uint8(n)})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return "", nil, err
	}
	return "image/png", b.Bytes(), nil
}

// threePages is the invoice with two more pages: page 2 read by OCR.
func threePages() pipeline.Document {
	doc := invoiceDoc()
	for n := 2; n <= 3; n++ {
		p := pipeline.Page{Number: n, Status: pipeline.PageText, Width: 595, Height: 842,
			Lines: []pipeline.Line{{Text: "Seite " + string(rune('0'+n))}}}
		if n == 2 {
			p.Status = pipeline.PageOCR
		}
		doc.Pages = append(doc.Pages, p)
	}
	return doc
}

// imageParts reads the image_url parts of a request's user message.
func imageParts(t *testing.T, raw json.RawMessage) (texts []string, urls []string, details []string) {
	t.Helper()
	var parts []struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		ImageURL *struct {
			URL    string `json:"url"`
			Detail string `json:"detail"`
		} `json:"image_url"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		t.Fatalf("the user message's content is not an array of parts: %v (%.200s)", err, raw)
	}
	for _, p := range parts {
		switch p.Type {
		case "text":
			texts = append(texts, p.Text)
		case "image_url":
			urls = append(urls, p.ImageURL.URL)
			details = append(details, p.ImageURL.Detail)
		default:
			t.Errorf("part type %q", p.Type)
		}
	}
	return texts, urls, details
}

func TestLLMVision(t *testing.T) {
	tests := []struct {
		name       string
		vision     Vision
		fail       map[int]bool
		maxImages  int
		maxBytes   int
		wantImages []int // pages, by the first pixel
		wantWarn   string
	}{
		{name: "off sends text only", vision: VisionOff},
		{name: "ocr sends the OCR page", vision: VisionOCR, wantImages: []int{2}},
		{name: "all sends every page", vision: VisionAll, wantImages: []int{1, 2, 3}},
		{name: "at most MaxImages", vision: VisionAll, maxImages: 2, wantImages: []int{1, 2}},
		{name: "a page without image goes as text", vision: VisionAll, fail: map[int]bool{1: true}, wantImages: []int{2, 3},
			wantWarn: "page 1: pdftoppm failed"},
		{name: "an image over the size limit is left out", vision: VisionOCR, maxBytes: 100, wantWarn: "over the limit of 100"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := llmtest.NewServer(t)
			srv.ChatSequence(llmtest.ToolCall("record_invoice", args(t, validArgs)).Usage(1200, 150))
			imgs := &fakeImages{w: 1700, h: 2200, fail: tc.fail}
			l := newTestLLM(t, srv, func(c *LLMConfig) {
				c.Vision, c.Images, c.MaxImages, c.MaxImageBytes, c.CaptureContent = tc.vision, imgs, tc.maxImages, tc.maxBytes, true
			})
			x, err := l.Extract(context.Background(), threePages(), mustBuiltin(t, "invoice"))
			if err != nil {
				t.Fatal(err)
			}
			user := srv.Requests()[0].Chat.Messages[1]
			if len(tc.wantImages) == 0 {
				if tc.vision == VisionOff && len(imgs.asked) > 0 {
					t.Errorf("images asked for with vision off: %v", imgs.asked)
				}
				if len(user.RawContent) > 0 && user.RawContent[0] == '[' {
					t.Errorf("text only wanted, got parts: %.200s", user.RawContent)
				}
			} else {
				texts, urls, details := imageParts(t, user.RawContent)
				if len(texts) != 2 || !strings.Contains(texts[0], "=== Page 1 ===") || !strings.Contains(texts[1], "images of pages") {
					t.Errorf("text parts %q", texts)
				}
				var pages []int
				for i, u := range urls {
					data, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(u, "data:image/png;base64,"))
					if err != nil || !strings.HasPrefix(u, "data:image/png;base64,") {
						t.Fatalf("url %.60s: %v", u, err)
					}
					img, err := png.Decode(bytes.NewReader(data))
					if err != nil {
						t.Fatal(err)
					}
					pages = append(pages, int(img.(*image.Gray).Pix[0]))
					if details[i] != "auto" {
						t.Errorf("detail %q", details[i])
					}
				}
				if !equalInts(pages, tc.wantImages) {
					t.Errorf("images of pages %v, want %v", pages, tc.wantImages)
				}
			}
			var warned string
			for _, is := range x.Issues {
				if strings.HasPrefix(is.Message, "no page image") {
					warned += is.Message
				}
			}
			if tc.wantWarn == "" && warned != "" || !strings.Contains(warned, tc.wantWarn) {
				t.Errorf("warnings %q, want %q", warned, tc.wantWarn)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Images count as the provider counts them, in the tokens the limiter is
// told of, and spans record their size, never their data.
func TestVisionTokensAndSpans(t *testing.T) {
	for _, tc := range []struct {
		w, h   int
		detail openai.ImageURLDetail
		want   int
	}{
		{1700, 2200, openai.ImageURLDetailAuto, 85 + 170*4}, // 768 x 994: 2 x 2 tiles
		{1700, 2200, openai.ImageURLDetailLow, 85},
		{4096, 8192, openai.ImageURLDetailHigh, 85 + 170*6}, // 1024 x 2048 -> 768 x 1536: 2 x 3
		{500, 400, openai.ImageURLDetailAuto, 85 + 170},
	} {
		if got := imageTokens(tc.w, tc.h, tc.detail); got != tc.want {
			t.Errorf("imageTokens(%d, %d, %s) = %d, want %d", tc.w, tc.h, tc.detail, got, tc.want)
		}
	}

	srv := llmtest.NewServer(t)
	lim := &countingLimiter{}
	l := newTestLLM(t, srv, func(c *LLMConfig) {
		c.Vision, c.Images, c.Limiter = VisionOCR, &fakeImages{w: 1700, h: 2200}, lim
	})
	plainLim := &countingLimiter{}
	plain := newTestLLM(t, srv, func(c *LLMConfig) { c.Limiter = plainLim })
	if l.Version() == plain.Version() || !strings.Contains(l.Version(), "vision=ocr") {
		t.Errorf("vision is not in the version: %s", l.Version())
	}
	srv.ChatSequence(llmtest.ToolCall("record_invoice", args(t, validArgs)), llmtest.ToolCall("record_invoice", args(t, validArgs)))
	for _, m := range []*LLM{l, plain} {
		if _, err := m.Extract(context.Background(), threePages(), mustBuiltin(t, "invoice")); err != nil {
			t.Fatal(err)
		}
	}
	tool, err := l.tool(mustBuiltin(t, "invoice"))
	if err != nil {
		t.Fatal(err)
	}
	msgs, _, _, err := l.prompt(context.Background(), threePages(), mustBuiltin(t, "invoice"), tool)
	if err != nil {
		t.Fatal(err)
	}
	text := 0
	for _, p := range msgs[1].MultiContent {
		text += l.count(p.Text)
	}
	if got := l.messageTokens(msgs[1]); got != text+85+170*4 {
		t.Errorf("user message counted %d tokens, want its text's %d and the image's %d", got, text, 85+170*4)
	}
	captured := mustJSON(withoutImageData(msgs))
	if strings.Contains(captured, "iVBOR") || !strings.Contains(captured, "data:image/png;base64,[") {
		t.Errorf("spans would carry the image: %.300s", captured)
	}
	note := l.count(msgs[1].MultiContent[1].Text)
	if len(lim.tokens) != 1 || len(plainLim.tokens) != 1 || lim.tokens[0]-plainLim.tokens[0] != 85+170*4+note {
		t.Errorf("the limiter was told %v tokens with the image, %v without: want the image's %d and its note's %d more",
			lim.tokens, plainLim.tokens, 85+170*4, note)
	}
}

func TestParseVision(t *testing.T) {
	for in, want := range map[string]Vision{"": VisionOff, "false": VisionOff, "off": VisionOff, "true": VisionOCR, "ocr": VisionOCR, "ALL": VisionAll} {
		if got, err := ParseVision(in); err != nil || got != want {
			t.Errorf("ParseVision(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseVision("pages"); err == nil {
		t.Error("ParseVision(pages): no error")
	}
}
