-- Book Bazar data model (API.md). Postgres is the system of record; Redis
-- holds hot copies (carts, stock counters, cache) that converge to these rows.
-- Constraints guard what the application also checks, so that a bug can never
-- store an oversold stock, a negative price or an unknown status.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE app_meta (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    username      text NOT NULL CHECK (length(username) BETWEEN 1 AND 64),
    password_hash text NOT NULL,
    role          text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE books (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title          text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    author         text NOT NULL CHECK (length(author) BETWEEN 1 AND 200),
    description    text NOT NULL DEFAULT '',
    price_cents    integer NOT NULL CHECK (price_cents >= 0),
    currency       char(3) NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    stock          integer NOT NULL CHECK (stock >= 0),
    favorite_count integer NOT NULL DEFAULT 0 CHECK (favorite_count >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz
);
-- Cursor pages walk live books by id, newest first.
CREATE INDEX books_live_id_idx ON books (id DESC) WHERE deleted_at IS NULL;
-- `q` is a case-insensitive substring match on title/author: trigram indexes
-- let ILIKE '%q%' use a bitmap scan instead of reading the table.
CREATE INDEX books_title_trgm_idx ON books USING gin (title gin_trgm_ops);
CREATE INDEX books_author_trgm_idx ON books USING gin (author gin_trgm_ops);

CREATE TABLE tags (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX tags_name_key ON tags (name);

CREATE TABLE book_tags (
    book_id bigint NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    tag_id  bigint NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (book_id, tag_id)
);
CREATE INDEX book_tags_tag_book_idx ON book_tags (tag_id, book_id DESC);

CREATE TABLE images (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    book_id       bigint NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    status        text NOT NULL DEFAULT 'processing'
                  CHECK (status IN ('processing', 'ready', 'failed')),
    content_type  text NOT NULL,
    original_path text NOT NULL,
    variants      jsonb NOT NULL DEFAULT '{}'::jsonb,
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX images_book_idx ON images (book_id, id);

CREATE TABLE favorites (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    book_id    bigint NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, book_id)
);
CREATE INDEX favorites_book_idx ON favorites (book_id);

-- The durable copy of the live Redis cart; `version` is the Redis cart's
-- version at the last write, so replays and reordered jobs never go back.
CREATE TABLE carts (
    user_id    uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    version    bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cart_items (
    user_id  uuid NOT NULL REFERENCES carts (user_id) ON DELETE CASCADE,
    book_id  bigint NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 10),
    PRIMARY KEY (user_id, book_id)
);

CREATE TABLE orders (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id           uuid NOT NULL REFERENCES users (id),
    status            text NOT NULL CHECK (status IN (
                          'PENDING', 'PAYMENT_PENDING', 'PAID', 'FULFILLING', 'SHIPPED',
                          'DELIVERED', 'EXPIRED', 'CANCELLED', 'FAILED', 'REFUND_PENDING',
                          'REFUNDED')),
    total_cents       bigint NOT NULL CHECK (total_cents >= 0),
    currency          char(3) NOT NULL DEFAULT 'USD',
    expires_at        timestamptz,
    payment_provider  text,
    payment_intent_id text,
    stock_released    boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_user_created_idx ON orders (user_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX orders_payment_intent_key ON orders (payment_intent_id)
    WHERE payment_intent_id IS NOT NULL;
CREATE INDEX orders_pending_expiry_idx ON orders (expires_at) WHERE status = 'PAYMENT_PENDING';

CREATE TABLE order_items (
    order_id         uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    book_id          bigint NOT NULL REFERENCES books (id),
    title            text NOT NULL,
    unit_price_cents integer NOT NULL CHECK (unit_price_cents >= 0),
    quantity         integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, book_id)
);
CREATE INDEX order_items_book_idx ON order_items (book_id);

-- Every payment-provider event seen, by its id: a redelivery finds its row
-- and has no second effect.
CREATE TABLE payment_events (
    event_id    text PRIMARY KEY,
    type        text NOT NULL,
    order_id    uuid REFERENCES orders (id),
    intent_id   text,
    payload     jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- Idempotency-Key records of POST /orders (24 h, per user and key).
CREATE TABLE idempotency_keys (
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash  text NOT NULL,
    status_code   integer,
    response_body text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Transactional outbox: written in the same transaction as the state change
-- it announces; a relay publishes and enqueues, then stamps published_at.
CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic        text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;

-- "Bought together" scores, rebuilt by a background job.
CREATE TABLE recommendations (
    book_id             bigint NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    recommended_book_id bigint NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    score               double precision NOT NULL,
    PRIMARY KEY (book_id, recommended_book_id)
);
CREATE INDEX recommendations_rank_idx ON recommendations (book_id, score DESC);
