-- atlas tracking schema, version 7: each import's transaction id kept on its record.
-- Never edit once shipped.
--
-- Undo tells rows changed since an import from those it left by comparing their xmin with the
-- import's transaction id. It read that id from the record's own xmin, which any UPDATE of the
-- record in SQL (an auditor correcting user_email) changes: every row then read as changed. From
-- this version an import writes it into metadata.import_xmin; records kept before it get their
-- xmin now (as atlas's own later updates of a record already did), before anyone edits them.
update import_history
   set metadata = coalesce(metadata, '{}'::jsonb) || jsonb_build_object('import_xmin', xmin::text)
 where status in ('success', 'partial') and not coalesce(metadata ? 'import_xmin', false);
