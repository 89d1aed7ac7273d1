-- atlas tracking schema, version 5: imports that change rows, not only append them (issue 22).
-- Never edit once shipped.
--
-- import_history gains the import's mode and what it did to rows already in the table. Every
-- column is an addition (the spec's columns keep their meaning): rows_inserted stays the rows an
-- import inserted; an upsert also counts the rows it updated and those it found unchanged, a
-- replace the rows it deleted. Existing records are appends: mode 'append', nothing updated.

alter table import_history
  add column import_mode varchar(20) not null default 'append'
    check (import_mode in ('append', 'upsert', 'replace', 'replace_import')),
  add column rows_updated integer not null default 0,
  add column rows_unchanged integer not null default 0,
  add column rows_deleted integer not null default 0,
  -- --replace-import: the import whose rows this one replaced, and on that one, its replacement
  -- (cleared when the replacement is undone; SET NULL when its record is deleted).
  add column replaces_import_id uuid references import_history (import_id) on delete set null,
  add column replaced_by uuid references import_history (import_id) on delete set null,
  -- When `history compact` dropped the import's pre-images: from then on it cannot be undone.
  add column preimages_pruned_at timestamptz;

-- The previous version of every row an import updated or deleted, owned by that import (gone
-- with its record), so that undo can put back exactly what was there: values, metadata columns
-- and id. `row_data` is the whole row as row_to_json wrote it (json keeps a json column's text
-- as it was, and is cheaper to build than jsonb, see 004); `row_id` and `prior_import_id` are
-- copies of its `id` and `_import_id`, for the lookups undo and lineage make.
create table import_preimages (
  id bigserial primary key,
  import_id uuid not null references import_history (import_id) on delete cascade,
  table_name varchar(255) not null,
  row_id bigint not null,
  -- the import that wrote this version of the row (its _import_id then)
  prior_import_id uuid,
  action varchar(10) not null check (action in ('updated', 'deleted')),
  row_data json not null,
  recorded_at timestamptz not null default now()
);

create index idx_import_preimages_import on import_preimages (import_id);
create index idx_import_preimages_prior on import_preimages (prior_import_id);
create index idx_import_preimages_row on import_preimages (table_name, row_id);

do $$
begin
  execute format('alter sequence %s cache 1000', pg_get_serial_sequence('import_preimages', 'id'));
end $$;
