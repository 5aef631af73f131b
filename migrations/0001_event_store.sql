-- The event store. The first seven columns are postgres-es 0.5.0's own (its INSERT names
-- them); the last three are ours and filled by defaults, so postgres-es never needs to know.
create table events (
    aggregate_type text   not null,
    aggregate_id   text   not null,
    sequence       bigint not null check (sequence >= 0),
    event_type     text   not null,
    event_version  text   not null,
    -- json, not jsonb: kept and read back as stored text, which is far cheaper to stream
    -- to projectors than jsonb's re-serialisation, and is what the seal chain hashes.
    payload        json   not null,
    metadata       json   not null,
    -- Allocated at insert, not at commit: a position alone is not a safe read order.
    position       bigint generated always as identity unique,
    -- The writing transaction: readers only take rows of transactions below the oldest
    -- transaction still running, ordered by (transaction_id, position).
    transaction_id xid8        not null default pg_current_xact_id(),
    recorded_at    timestamptz not null default now(),
    primary key (aggregate_type, aggregate_id, sequence)
);

create index events_stream_order on events (transaction_id, position);
create index events_recorded_at on events (recorded_at);

create table snapshots (
    aggregate_type   text   not null,
    aggregate_id     text   not null,
    last_sequence    bigint not null check (last_sequence >= 0),
    current_snapshot bigint not null check (current_snapshot >= 0),
    payload          jsonb  not null,
    primary key (aggregate_type, aggregate_id, last_sequence)
);

-- Append-only: history is never rewritten, whoever asks.
create function events_refuse_change() returns trigger
language plpgsql as $$
begin
    raise exception 'the events table is append-only: % is refused', tg_op
        using errcode = 'insufficient_privilege';
end;
$$;

create trigger events_append_only
    before update or delete on events
    for each row execute function events_refuse_change();

create trigger events_no_truncate
    before truncate on events
    for each statement execute function events_refuse_change();

-- Wakes the projectors; the payload is empty because they read the table anyway.
create function events_notify() returns trigger
language plpgsql as $$
begin
    perform pg_notify('comptoir_events', '');
    return null;
end;
$$;

create trigger events_notify
    after insert on events
    for each statement execute function events_notify();

-- Values that must be unique across aggregates (category names, slugs, product
-- references). An aggregate cannot see its siblings, so the command side claims a value
-- here before the event that uses it is written.
create table unique_keys (
    scope    text not null,
    value    text not null,
    owner_id uuid not null,
    primary key (scope, value)
);

-- Order numbers are human-friendly and unique but need not be gapless (invoice numbers
-- are, and come from the InvoiceSeries aggregate).
create sequence order_numbers;

-- One row per consumer (projection or process manager).
create table projection_checkpoints (
    name            text primary key,
    -- (last_tx, last_position) of the last event applied; (0, 0) before the first.
    last_tx         bigint      not null default 0,
    last_position   bigint      not null default 0,
    events_applied  bigint      not null default 0,
    updated_at      timestamptz not null default now(),
    failed_position bigint,
    failed_error    text,
    failed_at       timestamptz
);

-- The seal chain: SHA-256 over the previous seal and the event's canonical bytes.
create table seals (
    position bigint primary key,
    seal     bytea not null
);
