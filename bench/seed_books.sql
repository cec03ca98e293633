-- 10,000 contiguous books for bench/catalog_bench.sh, inserted once (marker
-- row in app_meta) so that ids [first, first + 9999] are all live. Prints the
-- first id.
DO $$
DECLARE first_id bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM app_meta WHERE key = 'bench.books') THEN
        WITH ins AS (
            INSERT INTO books (title, author, description, price_cents, stock)
            SELECT 'Bench book ' || g, 'Author ' || (g % 97), 'Generated for the catalog benchmark.',
                   100 + (g * 37) % 9000, 1 + g % 50
            FROM generate_series(1, 10000) AS g
            RETURNING id)
        SELECT min(id) INTO first_id FROM ins;
        INSERT INTO book_tags (book_id, tag_id)
            SELECT b.id, t.id FROM books b JOIN tags t ON t.id = 1 + (b.id % 5)
            WHERE b.id >= first_id ON CONFLICT DO NOTHING;
        INSERT INTO app_meta (key, value) VALUES ('bench.books', first_id::text);
    END IF;
END $$;
SELECT value FROM app_meta WHERE key = 'bench.books';
