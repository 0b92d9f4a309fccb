-- 004: step records name their inputs (input name -> hash: the step graph,
-- as it was) and what the step spent, so "why is this output different?"
-- reads the graph from the records. Pages read by OCR have a status of
-- their own.

ALTER TABLE step_records ADD COLUMN inputs jsonb;
ALTER TABLE step_records ADD COLUMN spent jsonb;
ALTER TABLE pages DROP CONSTRAINT pages_status_check;
ALTER TABLE pages ADD CONSTRAINT pages_status_check CHECK (status IN ('text', 'ocr', 'no_text', 'error'));

---- create above / drop below ----

ALTER TABLE pages DROP CONSTRAINT pages_status_check;
ALTER TABLE pages ADD CONSTRAINT pages_status_check CHECK (status IN ('text', 'no_text', 'error'));
ALTER TABLE step_records DROP COLUMN spent;
ALTER TABLE step_records DROP COLUMN inputs;
