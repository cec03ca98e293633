-- An admin may request the refund of any paid order, one that has shipped
-- or been delivered included (a return; API.md §5: "the refund of an order
-- that was paid"). The same rows as kTransitions in
-- shared/include/bazaar/orders/order_status.hpp (order_status_test reads
-- every migration's INSERT INTO order_transitions and compares). Such a
-- refund gives no stock back: the copies left the shop
-- (orders::releases_stock(from, to)).
INSERT INTO order_transitions (from_status, to_status) VALUES
    ('SHIPPED', 'REFUND_PENDING'),
    ('DELIVERED', 'REFUND_PENDING');
