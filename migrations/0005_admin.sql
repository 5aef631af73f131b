-- Staff sessions (tower-sessions' PostgreSQL store reads and writes this table; created
-- here so the application never runs DDL at start).
create schema if not exists tower_sessions;
create table if not exists tower_sessions.session (
    id          text primary key not null,
    data        bytea not null,
    expiry_date timestamptz not null
);
create index if not exists session_expiry on tower_sessions.session (expiry_date);

-- Sign-in attempts and other security events (who, from where), kept apart from the
-- event store: a failed attempt for an unknown address belongs to no aggregate, and a
-- flood of them must not grow the streams that replays read. Append-only.
create table security_events (
    id         bigint generated always as identity primary key,
    kind       text not null,
    email      text,
    staff_id   uuid,
    client_ip  text,
    user_agent text,
    at         timestamptz not null default now()
);
create index security_events_email on security_events (lower(email), at);
create index security_events_ip on security_events (client_ip, at);

-- Append-only: no row is ever changed, and rows are only deleted once older than a year
-- (the retention of sign-in records).
create function security_events_append_only() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' and old.at < now() - interval '1 year' then
        return old;
    end if;
    raise exception 'security_events is append-only (rows can be deleted after a year)';
end
$$;
create trigger security_events_append_only
    before update or delete on security_events
    for each row execute function security_events_append_only();
