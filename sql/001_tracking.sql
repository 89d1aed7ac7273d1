-- atlas tracking schema, version 1. Never edit once shipped: add a new numbered file instead.
-- Runs with search_path set to the target schema, inside its own transaction.

create table import_history (
  import_id uuid primary key,
  import_timestamp timestamptz not null default now(),

  -- who
  user_id varchar(255),
  user_email varchar(255),

  -- source
  source_type varchar(50) not null check (source_type in ('local_upload', 'b2_storage', 'api_direct')),
  source_path text,
  file_name varchar(500),
  file_size_bytes bigint,
  file_type varchar(50),
  file_hash varchar(64),

  -- destination
  table_name varchar(255) not null,
  import_strategy varchar(50),

  -- configuration
  mapping_config jsonb,
  duplicate_check_enabled boolean default true,

  -- outcome
  status varchar(50) not null check (status in ('in_progress', 'success', 'failed', 'partial', 'undone')),
  error_message text,
  warnings text[],

  -- statistics
  total_rows_in_file integer,
  rows_processed integer,
  rows_inserted integer,
  rows_skipped integer,
  duplicates_found integer,
  validation_errors integer,

  -- performance
  duration_seconds decimal(10, 3),
  parsing_time_seconds decimal(10, 3),
  duplicate_check_time_seconds decimal(10, 3),
  insert_time_seconds decimal(10, 3),

  -- context
  analysis_id uuid,
  task_id uuid,
  metadata jsonb,

  created_at timestamptz default now(),
  updated_at timestamptz default now(),

  -- mapping
  mapping_status varchar(50) default 'not_started'
    check (mapping_status in ('not_started', 'in_progress', 'completed', 'completed_with_errors', 'failed')),
  mapping_started_at timestamptz,
  mapping_completed_at timestamptz,
  mapping_duration_seconds decimal(10, 3),
  mapping_errors_count integer default 0,

  -- undo
  undone_at timestamptz,
  undone_by varchar(255),
  rows_removed integer
);

create index idx_import_history_timestamp on import_history (import_timestamp desc);
create index idx_import_history_table on import_history (table_name);
create index idx_import_history_status on import_history (status);
create index idx_import_history_user on import_history (user_id);
create index idx_import_history_file_hash on import_history (file_hash);

create table mapping_errors (
  id serial primary key,
  import_id uuid not null references import_history (import_id) on delete cascade,
  record_number integer,
  source_field varchar(255),
  target_field varchar(255),
  error_type varchar(100),
  error_message text not null,
  source_value text,
  occurred_at timestamptz default now(),
  chunk_number integer
);

create index idx_mapping_errors_import on mapping_errors (import_id);
create index idx_mapping_errors_type on mapping_errors (error_type);
create index idx_mapping_errors_field on mapping_errors (source_field);

-- Whether `value` is valid input for `type_name`. PostgreSQL 16+ has pg_input_is_valid(); atlas
-- uses this on older servers. Only called for columns known to hold bad values, so the
-- subtransaction per call does not matter. The value is always a parameter, never SQL text.
create function atlas_input_is_valid(value text, type_name text) returns boolean
language plpgsql stable as $$
begin
  case type_name
    when 'integer' then perform value::integer;
    when 'bigint' then perform value::bigint;
    when 'smallint' then perform value::smallint;
    when 'numeric' then perform value::numeric;
    when 'real' then perform value::real;
    when 'double precision' then perform value::double precision;
    when 'boolean' then perform value::boolean;
    when 'date' then perform value::date;
    when 'timestamp without time zone' then perform value::timestamp;
    when 'timestamp with time zone' then perform value::timestamptz;
    when 'uuid' then perform value::uuid;
    when 'jsonb' then perform value::jsonb;
    when 'json' then perform value::json;
    else execute format('select $1::%s', type_name) using value;
  end case;
  return true;
exception when others then
  return false;
end
$$;
