-- atlas tracking schema, version 4: a kept record is json, not jsonb. Never edit once shipped.
--
-- An import of a file already loaded keeps every record in import_duplicates, so building and
-- storing them is most of its cost. row_to_json writes the record as text, in the table's
-- column order (as the row would have been stored; jsonb reorders keys by length), and costs
-- less than building jsonb. Measured on 1M records kept, all duplicates of the table's rows, six
-- runs each, alternating: the duplicate check's median 20.8 s -> 19.0 s, the import's 27.6 s ->
-- 26.2 s. Nothing in atlas queries inside a record; `record::jsonb` gives jsonb's operators.
-- (Also measured and not kept: (import_id, record_number) as the only index instead of id's and
-- import_id's. It was faster into an empty table and no faster, or slower, into one already
-- holding other imports' records: a unique check and a descent per row instead of appends.)
--
-- Rewrites the table once.

alter table import_duplicates alter column record type json using record::json;
