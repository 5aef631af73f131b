-- Read models. Every table here belongs to one projection (see projections/src) and is
-- rebuilt by it from the events: never write to them from anywhere else. Timestamps come
-- from the events (recorded_at), never from now(), so a rebuild gives identical rows.

-- public catalog
create table catalog_categories (
    category_id uuid primary key,
    slug        text not null,
    name        text not null,
    description text not null,
    deleted     boolean not null
);

create table catalog_products (
    product_id       uuid primary key,
    reference        text not null,
    slug             text not null,
    name             text not null,
    description      text not null,
    category_id      uuid not null,
    price_ht         numeric(12, 2) not null,
    vat_rate         numeric(5, 2) not null,
    price_ttc        numeric(12, 2) not null,
    available        bigint not null,
    images           jsonb not null,
    meta_description text not null,
    published        boolean not null,
    archived         boolean not null,
    rating_sum       bigint not null,
    rating_count     bigint not null,
    published_at     timestamptz,
    updated_at       timestamptz not null
);
create index catalog_products_category on catalog_products (category_id);
create index catalog_products_search on catalog_products
    using gin (to_tsvector('french', name || ' ' || description));
create index catalog_products_reference on catalog_products (reference text_pattern_ops);

create table catalog_slugs (
    slug       text primary key,
    product_id uuid not null
);

create table catalog_reviews (
    review_id  uuid primary key,
    product_id uuid not null,
    rating     int not null,
    approved   boolean not null
);

-- categories with product counts
create table category_list (
    category_id     uuid primary key,
    name            text not null,
    slug            text not null,
    description     text not null,
    product_count   bigint not null,
    published_count bigint not null,
    deleted         boolean not null,
    created_at      timestamptz not null,
    updated_at      timestamptz not null
);

create table category_members (
    product_id  uuid primary key,
    category_id uuid not null,
    published   boolean not null,
    archived    boolean not null
);

-- admin product list
create table admin_products (
    product_id       uuid primary key,
    reference        text not null,
    name             text not null,
    slug             text not null,
    category_id      uuid not null,
    price_ht         numeric(12, 2) not null,
    vat_rate         numeric(5, 2) not null,
    status           text not null,
    image_count      int not null,
    on_hand          bigint not null,
    available        bigint not null,
    created_at       timestamptz not null,
    updated_at       timestamptz not null
);
create index admin_products_category on admin_products (category_id);

-- stock levels and live reservations (the expiry sweeper reads them)
create table stock_levels (
    product_id uuid primary key,
    on_hand    bigint not null,
    available  bigint not null,
    reserved   bigint not null,
    status     text not null,
    -- live reservations: {"<order id>": {"quantity": n, "expires_at": "..."}}
    reservations jsonb not null,
    updated_at timestamptz not null
);

-- orders: list, detail and timeline
create table orders (
    order_id           uuid primary key,
    order_number       text not null unique,
    customer_email     text not null,
    customer_name      text not null,
    customer_phone     text not null,
    pickup_location    text not null,
    payment_method     text not null,
    payment_status     text not null,
    payment_provider   text,
    payment_reference  text,
    payment_session_id text,
    paid_at            timestamptz,
    status             text not null,
    cancel_reason      text,
    lines              jsonb not null,
    vat_breakdown      jsonb not null,
    total_ht           numeric(12, 2) not null,
    total_vat          numeric(12, 2) not null,
    total_ttc          numeric(12, 2) not null,
    invoice_number     text,
    credit_note_number text,
    placed_at          timestamptz not null,
    updated_at         timestamptz not null
);
create index orders_placed_at on orders (placed_at desc);
create index orders_status on orders (status);
create index orders_customer_email on orders (customer_email);

create table order_timeline (
    position    bigint primary key,
    order_id    uuid not null,
    event_type  text not null,
    actor       text not null,
    summary     text not null,
    recorded_at timestamptz not null
);
create index order_timeline_order on order_timeline (order_id, position);

-- reviews
create table reviews (
    review_id         uuid primary key,
    product_id        uuid not null,
    order_id          uuid,
    verified_purchase boolean not null,
    customer_name     text not null,
    customer_email    text not null,
    rating            int not null,
    comment           text not null,
    status            text not null,
    feedback          text,
    response          text,
    responded_at      timestamptz,
    submitted_at      timestamptz not null,
    updated_at        timestamptz not null
);
create index reviews_product on reviews (product_id, status);
create index reviews_status on reviews (status, submitted_at);

-- audit trail: one row per event with who did it and a one-line summary
create table audit_trail (
    position       bigint primary key,
    aggregate_type text not null,
    aggregate_id   text not null,
    sequence       bigint not null,
    event_type     text not null,
    actor_kind     text not null,
    actor_id       text not null,
    request_id     text,
    client_ip      text,
    summary        text not null,
    recorded_at    timestamptz not null
);
create index audit_trail_aggregate on audit_trail (aggregate_type, aggregate_id);
create index audit_trail_actor on audit_trail (actor_kind, actor_id);
create index audit_trail_recorded_at on audit_trail (recorded_at);

-- labels the audit summaries need ("PN-1234" rather than a uuid)
create table audit_labels (
    aggregate_id text primary key,
    label        text not null
);
