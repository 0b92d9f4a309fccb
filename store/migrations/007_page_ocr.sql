-- 007: how an OCR page was recognised (pipeline.OCRInfo: engine, version,
-- languages, dpi, rotation, skew, confidence), kept with the page. The
-- review pages turn a sideways scan's image as OCR turned it, so that the
-- image matches the page's boxes. NULL for pages with a text layer and for
-- pages stored before this migration.
ALTER TABLE pages ADD COLUMN ocr jsonb;

---- create above / drop below ----

ALTER TABLE pages DROP COLUMN ocr;
