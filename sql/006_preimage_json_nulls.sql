-- atlas tracking schema, version 6: pre-images tell a JSON null from SQL NULL.
-- Never edit once shipped.
--
-- row_data (row_to_json) writes both as null, and undo's json_populate_record reads null back as
-- SQL NULL, so a json or jsonb column that held JSON null came back NULL. json_nulls names the
-- json and jsonb columns of the row that held JSON null (NULL when none did, as in every
-- pre-image kept before this version, which undo reads as before).
alter table import_preimages add column json_nulls text[];
