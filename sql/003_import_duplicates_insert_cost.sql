-- atlas tracking schema, version 3: cheaper rows in import_duplicates, which an import of a file
-- already loaded fills with one row per record. Never edit once shipped.
--
-- Measured per 300,000 rows kept (2.9 s in all): the sequence's nextval 0.4 s, and the index on
-- import_id, whose keys are all equal within an import, 0.3 s of deduplication passes as its
-- pages fill. With a sequence cache a session draws ids 1000 at a time (ids may skip values, as
-- they may after any rollback; they order nothing); without deduplication the index is larger
-- (about 30 MB per million rows kept) and inserts stay a plain append to its rightmost page.

do $$
begin
  execute format('alter sequence %s cache 1000', pg_get_serial_sequence('import_duplicates', 'id'));
end $$;

alter index idx_import_duplicates_import set (deduplicate_items = off);
