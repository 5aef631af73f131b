-- Each verification of the seal chain asked for from the admin, so its page can tell when
-- the chain was last checked, by whom, and what was found. Append-only.
create table chain_verifications (
    id          bigint generated always as identity primary key,
    verified    bigint not null,
    broken_at   bigint,
    reason      text,
    last_seal   text not null,
    staff_id    uuid,
    checked_at  timestamptz not null default now()
);
