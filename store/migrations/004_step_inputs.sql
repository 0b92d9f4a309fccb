-- 004: step records name their inputs (input name -> hash: the step graph,
-- as it was) and what the step spent, so "why is this output different?"
-- reads the graph from the records.

ALTER TABLE step_records ADD COLUMN inputs jsonb;
ALTER TABLE step_records ADD COLUMN spent jsonb;

---- create above / drop below ----

ALTER TABLE step_records DROP COLUMN spent;
ALTER TABLE step_records DROP COLUMN inputs;
