-- atlas tracking schema, version 2: rows an import skipped as duplicates, kept for review.
-- Never edit once shipped.

create table import_duplicates (
  id bigserial primary key,
  import_id uuid not null references import_history (import_id) on delete cascade,
  -- the skipped record's position in its file
  record_number integer not null,
  -- the record as it would have been stored (target column names, converted values)
  record jsonb,
  -- the row already in the table that it equals, or
  matched_row_id bigint,
  -- the earlier record of the same file that it equals
  matched_record_number integer,
  detected_at timestamptz not null default now()
);

create index idx_import_duplicates_import on import_duplicates (import_id);
