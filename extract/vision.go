package extract

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	_ "image/jpeg" // DecodeConfig of JPEG page images
	_ "image/png"  // DecodeConfig of PNG page images
	"strings"

	"github.com/sashabaranov/go-openai"

	"github.com/extractor-dev/extractor/pipeline"
)

// Vision says which pages' images go to the model with their text.
type Vision string

// Vision modes: none (the default), the pages read by OCR (where the text
// may be wrong and the image is the truth), or every page.
const (
	VisionOff Vision = ""
	VisionOCR Vision = "ocr"
	VisionAll Vision = "all"
)

// ParseVision reads a vision setting: "", "off" or "false"; "ocr" or
// "true"; "all".
func ParseVision(s string) (Vision, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "off", "false", "no":
		return VisionOff, nil
	case "ocr", "true", "yes":
		return VisionOCR, nil
	case "all":
		return VisionAll, nil
	}
	return VisionOff, fmt.Errorf("vision %q: want off, ocr (or true) or all", s)
}

// PageImages gives the images of a document's pages to a model that sees.
type PageImages interface {
	// PageImage is page n (1-based) of doc as an image: its media type
	// ("image/png", "image/jpeg") and bytes.
	PageImage(ctx context.Context, doc pipeline.Document, n int) (mediaType string, data []byte, err error)
}

// Defaults of the vision limits (LLMConfig).
const (
	DefaultMaxImages     = 8
	DefaultMaxImageBytes = 4 << 20
)

// visionPages are the pages whose images go with the prompt: those of
// the mode among the pages the prompt carries (not the omitted ones; any
// page when parts is nil), in order, at most max.
func visionPages(doc pipeline.Document, mode Vision, parts []pagePart, max int) []int {
	carried := map[int]bool{}
	for _, p := range parts {
		carried[p.Page] = true
	}
	var out []int
	for _, p := range doc.Pages {
		if len(out) == max {
			break
		}
		if parts != nil && !carried[p.Number] || mode == VisionOCR && p.Status != pipeline.PageOCR {
			continue
		}
		out = append(out, p.Number)
	}
	return out
}

// pageImage is one page image ready for a message.
type pageImage struct {
	page   int
	url    string // a data: URL
	tokens int    // what the provider counts for it
}

// images renders the vision pages of doc. A page whose image cannot be
// had, or is over the size limit, is left out and said in skipped: the
// model still has its text.
func (l *LLM) images(ctx context.Context, doc pipeline.Document, parts []pagePart) (imgs []pageImage, skipped []string) {
	if l.cfg.Vision == VisionOff || l.cfg.Images == nil {
		return nil, nil
	}
	for _, n := range visionPages(doc, l.cfg.Vision, parts, l.cfg.MaxImages) {
		mediaType, data, err := l.cfg.Images.PageImage(ctx, doc, n)
		switch {
		case err != nil:
			skipped = append(skipped, fmt.Sprintf("page %d: %v", n, err))
			continue
		case len(data) > l.cfg.MaxImageBytes:
			skipped = append(skipped, fmt.Sprintf("page %d: its image is %d bytes, over the limit of %d", n, len(data), l.cfg.MaxImageBytes))
			continue
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("page %d: not an image the model can take (%v)", n, err))
			continue
		}
		imgs = append(imgs, pageImage{page: n, url: "data:" + mediaType + ";base64," + base64.StdEncoding.EncodeToString(data),
			tokens: imageTokens(cfg.Width, cfg.Height, l.cfg.ImageDetail)})
	}
	return imgs, skipped
}

// imageTokens is what OpenAI counts for an image of w x h pixels: 85 at
// low detail; otherwise 85 plus 170 per 512-pixel tile of the image
// scaled to fit 2048 x 2048 and then to a shortest side of 768.
func imageTokens(w, h int, detail openai.ImageURLDetail) int {
	if detail == openai.ImageURLDetailLow || w <= 0 || h <= 0 {
		return 85
	}
	fw, fh := float64(w), float64(h)
	if m := max(fw, fh); m > 2048 {
		fw, fh = fw*2048/m, fh*2048/m
	}
	if s := min(fw, fh); s > 768 {
		fw, fh = fw*768/s, fh*768/s
	}
	tiles := ((int(fw) + 511) / 512) * ((int(fh) + 511) / 512)
	return 85 + 170*tiles
}

// withImages turns the user message into parts: its text, a line saying
// which page images follow, and the images.
func withImages(user openai.ChatCompletionMessage, imgs []pageImage, detail openai.ImageURLDetail) openai.ChatCompletionMessage {
	if len(imgs) == 0 {
		return user
	}
	pages := make([]int, len(imgs))
	for i, im := range imgs {
		pages[i] = im.page
	}
	parts := []openai.ChatMessagePart{
		{Type: openai.ChatMessagePartTypeText, Text: user.Content},
		{Type: openai.ChatMessagePartTypeText, Text: fmt.Sprintf("The images of pages %s follow, in order. The text above was read from them; where it is garbled, read the value from the image, and quote the text's line that holds it.", pageList(pages))},
	}
	for _, im := range imgs {
		parts = append(parts, openai.ChatMessagePart{Type: openai.ChatMessagePartTypeImageURL,
			ImageURL: &openai.ChatMessageImageURL{URL: im.url, Detail: detail}})
	}
	return openai.ChatCompletionMessage{Role: user.Role, MultiContent: parts}
}

// messageTokens counts a message's text and images as the provider does.
func (l *LLM) messageTokens(m openai.ChatCompletionMessage) int {
	n := l.count(m.Content)
	if m.Role == openai.ChatMessageRoleSystem {
		n = l.countSystem(m.Content)
	}
	for _, p := range m.MultiContent {
		switch p.Type {
		case openai.ChatMessagePartTypeText:
			n += l.count(p.Text)
		case openai.ChatMessagePartTypeImageURL:
			n += imageURLTokens(p.ImageURL, l.cfg.ImageDetail)
		}
	}
	for _, c := range m.ToolCalls {
		n += l.count(c.Function.Arguments)
	}
	return n
}

// imageURLTokens reads an image part's size back from its data URL.
func imageURLTokens(u *openai.ChatMessageImageURL, detail openai.ImageURLDetail) int {
	if u == nil {
		return 0
	}
	_, b64, ok := strings.Cut(u.URL, ";base64,")
	if !ok {
		return imageTokens(0, 0, detail)
	}
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return imageTokens(0, 0, detail)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return imageTokens(0, 0, detail)
	}
	return imageTokens(cfg.Width, cfg.Height, detail)
}

// withoutImageData is messages with each image's data replaced by its
// size, for spans: a page image is the document itself.
func withoutImageData(messages []openai.ChatCompletionMessage) []openai.ChatCompletionMessage {
	out := make([]openai.ChatCompletionMessage, len(messages))
	for i, m := range messages {
		out[i] = m
		if len(m.MultiContent) == 0 {
			continue
		}
		parts := make([]openai.ChatMessagePart, len(m.MultiContent))
		for j, p := range m.MultiContent {
			parts[j] = p
			if p.ImageURL != nil {
				head, _, _ := strings.Cut(p.ImageURL.URL, ",")
				parts[j].ImageURL = &openai.ChatMessageImageURL{URL: fmt.Sprintf("%s,[%d characters]", head, len(p.ImageURL.URL)), Detail: p.ImageURL.Detail}
			}
		}
		out[i].MultiContent = parts
	}
	return out
}
