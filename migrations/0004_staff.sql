-- Staff accounts read model (projections/src/views/staff.rs), rebuilt from the
-- StaffAccount events like every table of 0002. No password hash here: it stays in the
-- events, read by the sign-in check from the account's own stream.
create table staff_accounts (
    staff_id             uuid primary key,
    email                text not null,
    display_name         text not null,
    role                 text not null,
    disabled             boolean not null,
    sessions_valid_after timestamptz,
    password_changed_at  timestamptz,
    created_at           timestamptz not null,
    updated_at           timestamptz not null
);
-- Sign-in looks accounts up by `lower(email) = lower($1)`. The aggregate already keeps
-- emails unique (the `staff_email` scope of unique_keys, same lower-cased key); the index
-- makes the lookup fast and would stop the projection loudly if that ever broke. Being no
-- constraint, a rebuild drops it while filling and creates it again before the swap.
create unique index staff_accounts_email on staff_accounts (lower(email));
