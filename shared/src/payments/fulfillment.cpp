// The jobs that follow a payment (fulfillment, refund) and the admin's
// manual moves; the rules are in payment_service.hpp.
#include "bazaar/error.hpp"
#include "bazaar/log.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/orders/order_service.hpp"
#include "bazaar/payments/payment_service.hpp"
#include "bazaar/payments/webhook_event.hpp"
#include "bazaar/pg_prepared.hpp"
#include "bazaar/uuid.hpp"

namespace bazaar::payments {

using orders::Status;

namespace {

std::optional<orders::Order> current(Backends& b, const std::string& order_id) {
    return b.pg.transact([&](pqxx::work& w) { return orders::load(w, order_id); });
}

// transition(from → to) unless another run of the job got there first
// (INVALID_TRANSITION then: the order moved on, nothing to do).
bool step(Backends& b, const std::string& order_id, Status from, Status to,
          nlohmann::json extra = nlohmann::json::object()) {
    orders::TransitionOptions opts;
    opts.only_from = {from};
    opts.event_extra = std::move(extra);
    try {
        orders::transition(b, order_id, to, opts);
        return true;
    } catch (const Error& e) {
        if (e.code() != ErrorCode::kInvalidTransition) throw;
        return false;
    }
}

}  // namespace

void fulfill(Backends& b, const std::string& order_id) {
    auto order = current(b, order_id);
    if (!order) return;
    if (order->status == Status::kPaid) step(b, order_id, Status::kPaid, Status::kFulfilling);
    order = current(b, order_id);
    if (!order || order->status != Status::kFulfilling) return;
    // Picking and handing over to a carrier happen here once there is a
    // warehouse integration; until then the order ships at once.
    if (step(b, order_id, Status::kFulfilling, Status::kShipped)) {
        log::info("order shipped", {{"orderId", order_id}});
    }
}

void refund(Backends& b, Provider& provider, const std::string& order_id) {
    auto order = current(b, order_id);
    if (!order || order->status != Status::kRefundPending) return;
    RefundResult r;
    std::string why;  // set: the refund cannot be made; an operator must act
    if (!order->payment_intent_id) {
        // A free order (PAID at checkout, nothing charged): nothing to give
        // back. Anything else without an intent was never charged through
        // us: say so loudly instead of leaving it pending for good.
        if (order->total_cents == 0)
            r = {"", "succeeded"};
        else
            why = "the order has no payment intent to refund";
    } else {
        try {
            r = provider.refund(*order->payment_intent_id, order->total_cents,
                                "bazaar-refund-" + order_id);
        } catch (const ProviderError& e) {
            // Refunded already (by an earlier run whose commit was lost, or
            // by hand in the provider's dashboard): record it as done. A
            // refusal that no retry changes (the charge disputed, the
            // account closed) is a failed refund, not a job that dies with
            // the order REFUND_PENDING forever.
            if (e.provider_code() == "charge_already_refunded")
                r = {"", "succeeded"};
            else if (!e.retryable())
                why = e.what();
            else
                throw;
        }
    }
    // REFUNDED only once the provider says the money went back: a refund
    // that is still pending keeps the order REFUND_PENDING (its webhook,
    // refund.updated, settles it); one that failed at once is REFUND_FAILED.
    const bool failed = !why.empty() || r.status == "failed" || r.status == "canceled";
    if (r.status != "succeeded" && !failed) {
        b.pg.transact([&](pqxx::work& w) {
            exec_prepared(w,
                          "UPDATE orders SET refund_id = NULLIF($2, '') WHERE id = $1 "
                          "AND status = 'REFUND_PENDING'",
                          order_id, r.id);
        });
        log::info("refund pending at the provider",
                  {{"orderId", order_id}, {"refundId", r.id}, {"status", r.status}});
        return;
    }
    orders::TransitionOptions opts;
    opts.only_from = {Status::kRefundPending};
    opts.event_extra = {{"refundId", r.id}};
    try {
        auto t = b.pg.transact([&](pqxx::work& w) {
            auto moved = orders::transition(
                w, order_id, failed ? Status::kRefundFailed : Status::kRefunded, opts);
            exec_prepared(w, "UPDATE orders SET refund_id = NULLIF($2, '') WHERE id = $1", order_id,
                          r.id);
            return moved;
        });
        orders::after_commit(b.redis, t);
        if (failed) {
            metrics::inc(metrics::Counter::kRefundFailures);
            log::error(
                "ALERT a refund failed: the customer has not got the money back",
                {{"orderId", order_id}, {"refundId", r.id}, {"status", r.status}, {"why", why}});
        } else {
            log::info("order refunded", {{"orderId", order_id}, {"refundId", r.id}});
        }
    } catch (const Error& e) {
        if (e.code() != ErrorCode::kInvalidTransition) throw;
    }
}

void refund_event(Backends& b, Provider& provider, const std::string& event_id) {
    auto row = b.pg.transact([&](pqxx::work& w) {
        return exec_prepared(
            w,
            "SELECT intent_id, (payload->'data'->'object'->>'amount')::bigint FROM payment_events "
            "WHERE event_id = $1 AND outcome = 'mismatch' AND refund_id IS NULL "
            "AND type = $2 AND intent_id IS NOT NULL",
            event_id, std::string(kIntentSucceeded));
    });
    if (row.empty() || row[0][1].is_null() || row[0][1].as<std::int64_t>() <= 0) return;
    std::string intent = row[0][0].as<std::string>();
    std::int64_t amount = row[0][1].as<std::int64_t>();
    RefundResult r;
    try {
        r = provider.refund(intent, amount, "bazaar-refund-event-" + event_id);
    } catch (const ProviderError& e) {
        if (e.provider_code() != "charge_already_refunded") throw;
        r = {"already-refunded", "succeeded"};
    }
    b.pg.transact([&](pqxx::work& w) {
        exec_prepared(
            w, "UPDATE payment_events SET refund_id = $2 WHERE event_id = $1 AND refund_id IS NULL",
            event_id, r.id);
    });
    log::warn(
        "mismatched payment refunded",
        {{"eventId", event_id}, {"intentId", intent}, {"amount", amount}, {"refundId", r.id}});
}

nlohmann::json admin_set_status(Backends& b, const std::string& order_id_in,
                                const std::string& status) {
    auto to = orders::parse_status(status);
    if (!to)
        throw Error::validation("status",
                                "must be one of PENDING, PAYMENT_PENDING, PAID, "
                                "FULFILLING, SHIPPED, DELIVERED, EXPIRED, CANCELLED, "
                                "FAILED, REFUND_PENDING, REFUNDED, REFUND_FAILED");
    auto order_id = canonical_uuid(order_id_in);
    if (!order_id) throw Error::not_found("order");
    auto t = b.pg.transact([&](pqxx::work& w) {
        // Admins drive fulfilment and cancellation; money states follow the
        // provider (order_status.hpp, kAdminTransitions).
        auto current = orders::load(w, *order_id, /*for_update=*/true);
        if (!current) throw Error::not_found("order");
        orders::require_admin_transition(current->status, *to);
        orders::TransitionOptions opts;
        opts.event_extra = {{"by", "admin"}};
        auto moved = orders::transition(w, *order_id, *to, opts);
        follow_ups(w, *order_id, orders::status_name(moved.order.status));
        return moved;
    });
    orders::after_commit(b.redis, t);
    log::info("order status set by an admin",
              {{"orderId", *order_id}, {"from", orders::status_name(t.from)}, {"to", status}});
    return orders::to_json(t.order);
}

nlohmann::json sales_stats(Backends& b) {
    auto rows = b.pg.transact([&](pqxx::work& w) {
        return w.exec(
            "WITH sold AS ("
            "  SELECT oi.book_id, sum(oi.quantity)::bigint AS units,"
            "         sum(oi.quantity::bigint * oi.unit_price_cents)::bigint AS revenue"
            "  FROM order_items oi JOIN orders o ON o.id = oi.order_id"
            "  WHERE o.status IN ('PAID', 'FULFILLING', 'SHIPPED', 'DELIVERED')"
            "  GROUP BY oi.book_id) "
            "SELECT t.name,"
            "       count(b.id) FILTER (WHERE b.deleted_at IS NULL) AS books,"
            "       COALESCE(round(avg(b.price_cents) FILTER (WHERE b.deleted_at IS NULL)), 0)"
            "         ::bigint AS avg_price,"
            "       COALESCE(sum(s.units), 0)::bigint AS units,"
            "       COALESCE(sum(s.revenue), 0)::bigint AS revenue "
            "FROM tags t"
            " LEFT JOIN book_tags bt ON bt.tag_id = t.id"
            " LEFT JOIN books b ON b.id = bt.book_id"
            " LEFT JOIN sold s ON s.book_id = b.id "
            "GROUP BY t.id, t.name "
            "ORDER BY revenue DESC, t.name");
    });
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows)
        out.push_back({{"tag", r[0].as<std::string>()},
                       {"books", r[1].as<std::int64_t>()},
                       {"avgPriceCents", r[2].as<std::int64_t>()},
                       {"unitsSold", r[3].as<std::int64_t>()},
                       {"revenueCents", r[4].as<std::int64_t>()}});
    return out;
}

}  // namespace bazaar::payments
