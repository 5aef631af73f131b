-- Storefront API keys. Only a SHA-256 of the secret is kept; the key itself is shown once.
create table api_keys (
    key_id      uuid primary key,
    name        text not null,
    secret_hash bytea not null,
    created_at  timestamptz not null default now(),
    revoked_at  timestamptz
);
create unique index api_keys_live_name on api_keys (name) where revoked_at is null;

-- Idempotency-Key of POST /api/orders: the first answer is kept and replayed.
create table idempotency_keys (
    api_key_id   uuid not null,
    key          text not null,
    request_hash bytea not null,
    -- null while the first request is being handled
    status       int,
    response     jsonb,
    created_at   timestamptz not null default now(),
    primary key (api_key_id, key)
);

-- The customer's token for an order's confirmation page. A credential, so it is kept
-- (hashed) beside the events rather than in them: the log is forever, a token need not be.
create table order_access (
    order_id   uuid primary key,
    token_hash bytea not null
);
