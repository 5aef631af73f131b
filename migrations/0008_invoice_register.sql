-- The invoice register: every invoice and credit note as issued, the read model of the
-- admin's register page, the accounting exports and the closures. Owned by the
-- `invoice_register` projection (projections/src/views/invoices.rs), rebuilt from events.

-- What the register needs to know about each order before its invoice is issued (the
-- projection's own copy, so it never depends on another read model's progress).
create table invoice_register_orders (
    order_id          uuid primary key,
    order_number      text not null,
    customer_name     text not null,
    customer_email    text not null,
    customer_phone    text not null,
    pickup_location   text not null,
    payment_method    text not null,
    lines             jsonb not null,
    totals            jsonb not null,
    placed_at         timestamptz not null,
    payment_provider  text,
    payment_reference text,
    paid_at           timestamptz
);

-- Credit notes asked for, waiting for (or given) their number.
create table invoice_register_credits (
    credit_id uuid primary key,
    order_id  uuid not null,
    lines     jsonb not null,
    totals    jsonb not null,
    reason    text not null
);

-- Numbers as the series handed them out: series and sequence of each printed number.
create table invoice_numbers (
    number      text primary key,
    series      text not null,
    sequence    bigint not null,
    order_id    uuid not null,
    document_id uuid,
    assigned_at timestamptz not null,
    unique (series, sequence)
);

create table invoice_register (
    number            text primary key,
    kind              text not null check (kind in ('invoice', 'credit_note')),
    series            text not null,
    sequence          bigint not null,
    order_id          uuid not null,
    order_number      text not null,
    credit_id         uuid,
    corrects          text,
    reason            text,
    issued_at         timestamptz not null,
    position          bigint not null,
    customer_name     text not null,
    customer_email    text not null,
    customer_phone    text not null,
    pickup_location   text not null,
    lines             jsonb not null,
    vat_breakdown     jsonb not null,
    -- Positive amounts: the kind says which way they go.
    total_ht          numeric(12, 2) not null,
    total_vat         numeric(12, 2) not null,
    total_ttc         numeric(12, 2) not null,
    payment_method    text not null,
    payment_provider  text,
    payment_reference text,
    paid_at           timestamptz,
    pdf_key           text,
    pdf_sha256        text,
    pdf_size          bigint,
    unique (series, sequence)
);
create index invoice_register_issued on invoice_register (issued_at, position);
create index invoice_register_order on invoice_register (order_id);

-- How much of each order credit notes took back, incl. VAT.
alter table orders add column credited_ttc numeric(12, 2) not null default 0;
