// payments/init and the webhook; the design is in payment_service.hpp.
#include "bazaar/payments/payment_service.hpp"

#include <memory>

#include "bazaar/error.hpp"
#include "bazaar/log.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/orders/order_service.hpp"
#include "bazaar/payments/amounts.hpp"
#include "bazaar/payments/webhook_signature.hpp"
#include "bazaar/pg_prepared.hpp"
#include "bazaar/queue/producer.hpp"
#include "bazaar/time.hpp"
#include "bazaar/uuid.hpp"

namespace bazaar::payments {

using orders::Status;

Provider& thread_provider(const Config& config) {
    thread_local std::unique_ptr<Provider> provider;
    if (!provider) {
        global_init();
        provider = make_provider(config);
    }
    return *provider;
}

/* ---- payments/init ---- */

namespace {

struct IntentRow {
    std::string user_id;
    std::string status;
    std::int64_t total_cents = 0;
    std::string currency;
    std::optional<std::string> provider, intent_id, client_secret;
    std::int64_t intent_attempt = 0;
};

std::optional<IntentRow> read_intent_row(pqxx::work& w, const std::string& order_id) {
    auto r = exec_prepared(
        w,
        "SELECT user_id::text, status, total_cents, currency, payment_provider, "
        "payment_intent_id, payment_client_secret, intent_attempt FROM orders WHERE id = $1",
        order_id);
    if (r.empty()) return std::nullopt;
    IntentRow row;
    row.user_id = r[0][0].as<std::string>();
    row.status = r[0][1].as<std::string>();
    row.total_cents = r[0][2].as<std::int64_t>();
    row.currency = r[0][3].as<std::string>();
    if (!r[0][4].is_null()) row.provider = r[0][4].as<std::string>();
    if (!r[0][5].is_null()) row.intent_id = r[0][5].as<std::string>();
    if (!r[0][6].is_null()) row.client_secret = r[0][6].as<std::string>();
    row.intent_attempt = r[0][7].as<std::int64_t>();
    return row;
}

nlohmann::json intent_json(const IntentRow& row) {
    return {{"provider", *row.provider},
            {"intentId", *row.intent_id},
            {"clientSecret", row.client_secret.value_or("")},
            {"amountCents", row.total_cents},
            {"currency", row.currency}};
}

}  // namespace

nlohmann::json init_payment(Backends& b, Provider& provider, const std::string& user_id,
                            const std::string& order_id_in) {
    auto order_id = canonical_uuid(order_id_in);
    if (!order_id) throw Error::not_found("order");
    auto mine = [&](const std::optional<IntentRow>& row) {
        if (!row || row->user_id != user_id) throw Error::not_found("order");
    };
    // 1. the order as it is: an intent already made is returned as is.
    auto row = b.pg.transact([&](pqxx::work& w) { return read_intent_row(w, *order_id); });
    mine(row);
    if (row->status != "PAYMENT_PENDING")
        throw Error(ErrorCode::kInvalidTransition,
                    "only a PAYMENT_PENDING order can be paid (this one is " + row->status + ")");
    if (row->intent_id) return intent_json(*row);
    // A total the provider cannot charge (an order from before checkout
    // refused them, payments/amounts.hpp) is a clear 409, never the
    // provider's refusal as a 500.
    const std::int64_t minimum = minimum_charge(row->currency);
    if (row->total_cents < minimum)
        throw Error(ErrorCode::kAmountTooSmall,
                    "the total is below the smallest amount the payment provider can charge")
            .with_raw_details(nlohmann::json::array({{{"totalCents", row->total_cents},
                                                      {"minimumCents", minimum},
                                                      {"currency", row->currency}}})
                                  .dump());
    // 2. the provider call, outside any transaction (it may take seconds).
    // The idempotency key is the order's (and its attempt's: a mismatched
    // payment used up the previous intent): two concurrent calls get the
    // same Stripe intent; with the test provider the loser's intent is dropped.
    std::string intent_key = "bazaar-intent-" + *order_id;
    if (row->intent_attempt > 0) intent_key += "-" + std::to_string(row->intent_attempt);
    Intent intent;
    try {
        intent = provider.create_intent({*order_id, row->total_cents, row->currency, intent_key});
    } catch (const ProviderError& e) {
        log::error("payment provider refused create_intent",
                   {{"orderId", *order_id}, {"retryable", e.retryable()}, {"error", e.what()}});
        // Never a 500 (which the key would keep for 24 h): an amount the
        // provider finds too small (its minimum in the settlement currency
        // can be above ours) is the client's 409; any other refusal is the
        // dependency's (our account, our configuration): 503, the key is
        // released, and the error log says what the provider answered.
        if (e.provider_code() == "amount_too_small")
            throw Error(ErrorCode::kAmountTooSmall,
                        "the payment provider refused the amount as too small");
        throw Error::unavailable("payment provider");
    }
    // 3. kept only while the order still waits for payment and has none.
    auto stored = b.pg.transact([&](pqxx::work& w) {
        exec_prepared(w,
                      "UPDATE orders SET payment_provider = $2, payment_intent_id = $3, "
                      "payment_client_secret = $4, updated_at = now() "
                      "WHERE id = $1 AND payment_intent_id IS NULL AND status = 'PAYMENT_PENDING' "
                      "AND intent_attempt = $5",
                      *order_id, std::string(provider.name()), intent.id, intent.client_secret,
                      row->intent_attempt);
        return read_intent_row(w, *order_id);
    });
    mine(stored);
    if (stored->intent_id && stored->status == "PAYMENT_PENDING") return intent_json(*stored);
    if (stored->status == "PAYMENT_PENDING")  // a mismatched payment retired the intent meanwhile
        throw Error(ErrorCode::kConflict,
                    "the order's payment changed meanwhile; call payments/init again");
    throw Error(ErrorCode::kInvalidTransition,
                "only a PAYMENT_PENDING order can be paid (this one is " + stored->status + ")");
}

/* ---- webhook ---- */

nlohmann::json WebhookResult::to_json() const {
    nlohmann::json j = {{"received", true}, {"eventId", event_id}, {"outcome", outcome}};
    j["orderId"] = order_id ? nlohmann::json(*order_id) : nlohmann::json(nullptr);
    j["status"] = status ? nlohmann::json(*status) : nlohmann::json(nullptr);
    return j;
}

void follow_ups(pqxx::work& w, const std::string& order_id, std::string_view status) {
    queue::NewJob job;
    job.data = {{"orderId", order_id}};
    if (status == "PAID") {
        job.name = kFulfillJob;
        job.options.job_id = "fulfill:" + order_id;
        job.options.attempts = 5;
        queue::add_in_transaction(w, kFulfillmentQueue, job);
    } else if (status == "REFUND_PENDING") {
        job.name = kRefundJob;
        job.options.job_id = "refund:" + order_id;
        job.options.attempts = 10;
        job.options.backoff = {queue::Backoff::Type::kExponential, 2000};
        queue::add_in_transaction(w, kRefundQueue, job);
    }
}

namespace {

// An alert of the event (a counter in /metrics and an ALERT log line),
// raised after the commit: the transaction may run more than once
// (Pg::transact) and a rolled-back attempt alerts nobody.
struct Alert {
    metrics::Counter counter;
    std::string message;
    nlohmann::json fields;
};

struct Applied {
    WebhookResult result;
    std::vector<orders::Transition> transitions;  // for after_commit
    std::vector<Alert> alerts;                    // likewise
};

void set_outcome(pqxx::work& w, const std::string& event_id, const std::string& outcome,
                 const std::optional<std::string>& order_id, const std::string& detail) {
    exec_prepared(w,
                  "UPDATE payment_events SET outcome = $2, order_id = NULLIF($3, '')::uuid, "
                  "detail = NULLIF($4, '') WHERE event_id = $1",
                  event_id, outcome, order_id.value_or(""), detail);
}

// A refund's status from the provider (refund.updated, refund.failed,
// charge.refund.updated). The order is found by the refund id the refund
// job recorded, else (the webhook outran the job's commit) by its intent
// while it waits for its refund. succeeded: REFUND_PENDING → REFUNDED;
// failed/canceled: REFUND_PENDING or REFUNDED → REFUND_FAILED, an error in
// the log (the money is still ours: an operator must return it another
// way). pending/requires_action: nothing yet.
template <typename Ignore>
Applied apply_refund_event(pqxx::work& w, const WebhookEvent& ev, Applied& a, Ignore& ignore) {
    const bool failed = ev.refund_status == "failed" || ev.refund_status == "canceled";
    const bool succeeded = ev.refund_status == "succeeded";
    auto of_event =
        exec_prepared(w, "SELECT event_id FROM payment_events WHERE refund_id = $1", ev.refund_id);
    if (!of_event.empty()) {
        // The refund of a mismatched payment (refund_event()).
        if (failed)
            a.alerts.push_back(
                {metrics::Counter::kRefundFailures,
                 "ALERT the refund of a mismatched payment failed: return the money by hand",
                 {{"eventId", ev.id},
                  {"refundId", ev.refund_id},
                  {"paymentEventId", of_event[0][0].as<std::string>()}}});
        return ignore("refund of mismatched payment " + of_event[0][0].as<std::string>() + ": " +
                      ev.refund_status);
    }
    auto found = exec_prepared(w, "SELECT id::text FROM orders WHERE refund_id = $1", ev.refund_id);
    if (found.empty() && !ev.intent_id.empty())
        // (REFUNDED without a refund id too: the refund job recorded
        // `charge_already_refunded` and never learnt the refund's id, and a
        // failure of that refund must still reach the order.)
        found = exec_prepared(w,
                              "SELECT id::text FROM orders WHERE payment_intent_id = $1 "
                              "AND status IN ('REFUND_PENDING', 'REFUNDED') AND refund_id IS NULL",
                              ev.intent_id);
    if (found.empty()) return ignore("unknown refund");
    const std::string order_id = found[0][0].as<std::string>();
    a.result.order_id = order_id;
    auto order = orders::load(w, order_id, /*for_update=*/true);
    if (!order) return ignore("unknown refund");
    a.result.status = std::string(orders::status_name(order->status));
    Status to;
    if (succeeded && order->status == Status::kRefundPending) {
        to = Status::kRefunded;
    } else if (failed &&
               (order->status == Status::kRefundPending || order->status == Status::kRefunded)) {
        to = Status::kRefundFailed;
    } else {
        return ignore("refund " + ev.refund_status + ", order " + *a.result.status);
    }
    orders::TransitionOptions opts;
    opts.event_extra = {{"refundId", ev.refund_id}};
    auto t = orders::transition(w, order_id, to, opts);
    exec_prepared(w, "UPDATE orders SET refund_id = $2 WHERE id = $1", order_id, ev.refund_id);
    a.result.status = std::string(orders::status_name(t.order.status));
    a.transitions.push_back(std::move(t));
    if (to == Status::kRefundFailed)
        a.alerts.push_back(
            {metrics::Counter::kRefundFailures,
             "ALERT a refund failed at the provider: the customer has not got the money back",
             {{"orderId", order_id}, {"refundId", ev.refund_id}, {"eventId", ev.id}}});
    a.result.outcome = "applied";
    set_outcome(w, ev.id, "applied", order_id, "");
    return a;
}

// One attempt of the webhook's transaction (Pg::transact may run it again).
Applied apply_event(pqxx::work& w, const WebhookEvent& ev, std::string_view body) {
    Applied a;
    a.result.event_id = ev.id;
    auto ins = exec_prepared(
        w,
        "INSERT INTO payment_events (event_id, type, intent_id, payload) "
        "VALUES ($1, $2, NULLIF($3, ''), $4::jsonb) ON CONFLICT (event_id) DO NOTHING "
        "RETURNING event_id",
        ev.id, ev.type, ev.intent_id, std::string(body));
    if (ins.empty()) {
        a.result.outcome = "duplicate";
        return a;
    }
    auto ignore = [&](const std::string& detail) {
        a.result.outcome = "ignored";
        set_outcome(w, ev.id, "ignored", a.result.order_id, detail);
        return a;
    };
    if (ev.is_refund()) return apply_refund_event(w, ev, a, ignore);
    if (ev.type != kIntentSucceeded && ev.type != kIntentFailed) return ignore("unhandled type");

    auto found =
        exec_prepared(w, "SELECT id::text FROM orders WHERE payment_intent_id = $1", ev.intent_id);
    // An intent a mismatched payment made the order let go of: whatever
    // succeeds on it now is not this order's payment (the order has a new
    // intent), so it is treated as a mismatch: recorded, refunded.
    bool retired = false;
    if (found.empty()) {
        found = exec_prepared(w,
                              "SELECT order_id::text FROM payment_events WHERE intent_id = $1 "
                              "AND outcome = 'mismatch' AND order_id IS NOT NULL LIMIT 1",
                              ev.intent_id);
        retired = !found.empty();
    }
    if (found.empty()) return ignore("unknown payment intent");
    if (retired && ev.type != kIntentSucceeded) return ignore("intent retired");
    const std::string order_id = found[0][0].as<std::string>();
    a.result.order_id = order_id;
    auto order = orders::load(w, order_id, /*for_update=*/true);
    if (!order) return ignore("unknown payment intent");
    a.result.status = std::string(orders::status_name(order->status));

    if (retired || ev.amount != order->total_cents || ev.currency != order->currency ||
        (ev.order_id && *ev.order_id != order_id)) {
        a.result.outcome = "mismatch";
        set_outcome(w, ev.id, "mismatch", order_id,
                    std::string(retired ? "intent retired by an earlier mismatch; " : "") +
                        "event " + std::to_string(ev.amount) + " " + ev.currency + ", order " +
                        std::to_string(order->total_cents) + " " + order->currency);
        // An error, not a warning: a charge for the wrong amount is a
        // provider-side bug or a tampered integration, and someone must look.
        a.alerts.push_back({metrics::Counter::kPaymentMismatches,
                            "ALERT payment event does not match its order",
                            {{"eventId", ev.id},
                             {"type", ev.type},
                             {"orderId", order_id},
                             {"amount", ev.amount},
                             {"currency", ev.currency},
                             {"orderTotal", order->total_cents},
                             {"orderCurrency", order->currency}}});
        if (ev.type == kIntentSucceeded) {
            queue::NewJob job{kRefundEventJob, {{"eventId", ev.id}}};
            job.options.job_id = "refund-event:" + ev.id;
            job.options.attempts = 10;
            job.options.backoff = {queue::Backoff::Type::kExponential, 2000};
            queue::add_in_transaction(w, kRefundQueue, job);
            // That intent has succeeded: the provider will not take a second
            // payment on it. The order lets go of it so that payments/init
            // asks for a new one (a new idempotency key, intent_attempt).
            exec_prepared(
                w,
                "UPDATE orders SET payment_intent_id = NULL, payment_client_secret = NULL, "
                "intent_attempt = intent_attempt + 1, updated_at = now() "
                "WHERE id = $1 AND payment_intent_id = $2 AND status = 'PAYMENT_PENDING'",
                order_id, ev.intent_id);
        }
        return a;
    }

    auto move = [&](Status to) {
        orders::TransitionOptions opts;
        opts.event_extra = {{"intentId", ev.intent_id}};
        auto t = orders::transition(w, order_id, to, opts);
        a.result.status = std::string(orders::status_name(t.order.status));
        follow_ups(w, order_id, *a.result.status);
        a.transitions.push_back(std::move(t));
    };

    if (ev.type == kIntentSucceeded) {
        switch (order->status) {
            case Status::kPaymentPending:
                move(Status::kPaid);
                break;
            case Status::kExpired:
            case Status::kFailed:
                // transition() takes the stock again in a savepoint: on a
                // shortage it changes nothing and the money goes back.
                try {
                    move(Status::kPaid);
                } catch (const Error& e) {
                    if (e.code() != ErrorCode::kOutOfStock) throw;
                    move(Status::kRefundPending);
                }
                break;
            case Status::kCancelled:
                move(Status::kRefundPending);
                break;
            default:
                return ignore("order already " + *a.result.status);
        }
    } else {
        if (order->status != Status::kPaymentPending)
            return ignore("order already " + *a.result.status);
        move(Status::kFailed);
    }
    a.result.outcome = "applied";
    set_outcome(w, ev.id, "applied", order_id, "");
    return a;
}

WebhookResult process_event(Backends& b, const WebhookEvent& ev, std::string_view body) {
    Applied a = b.pg.transact([&](pqxx::work& w) { return apply_event(w, ev, body); });
    for (const auto& t : a.transitions) orders::after_commit(b.redis, t);
    for (const auto& alert : a.alerts) {
        metrics::inc(alert.counter);
        log::error(alert.message, alert.fields);
    }
    log::info("payment event",
              {{"eventId", ev.id},
               {"type", ev.type},
               {"outcome", a.result.outcome},
               {"orderId", a.result.order_id ? nlohmann::json(*a.result.order_id) : nullptr}});
    return a.result;
}

}  // namespace

WebhookResult handle_webhook(Backends& b, std::optional<std::string_view> signature,
                             std::string_view body) {
    if (b.config.webhook_secrets.empty()) {
        log::error("WEBHOOK_SECRET is not set: every webhook is refused");
        throw Error::unavailable("payment webhook");
    }
    auto check = verify_signature(signature, body, b.config.webhook_secrets, now_ms() / 1000,
                                  b.config.webhook_tolerance_s);
    if (check != SignatureResult::kOk)
        throw Error(ErrorCode::kValidationFailed, "the webhook signature was refused",
                    {{"Stripe-Signature", describe(check)}});
    WebhookEvent ev = parse_webhook_event(body);
    // jsonb has no NUL: refuse it here rather than fail in Postgres.
    if (body.find("\\u0000") != std::string_view::npos)
        throw Error::validation("body", "must not contain \\u0000");
    return process_event(b, ev, body);
}

WebhookResult complete_test_payment(Backends& b, const std::string& user_id,
                                    const std::string& intent_id, std::string_view outcome) {
    if (b.config.webhook_secrets.empty()) throw Error::unavailable("payment webhook");
    auto found = b.pg.transact([&](pqxx::work& w) {
        return exec_prepared(w,
                             "SELECT id::text, user_id::text, total_cents, currency FROM orders "
                             "WHERE payment_intent_id = $1 AND payment_provider = 'test'",
                             intent_id);
    });
    if (found.empty() || found[0][1].as<std::string>() != user_id)
        throw Error::not_found("payment intent");
    std::string type(outcome == "succeeded" ? kIntentSucceeded : kIntentFailed);
    std::string body =
        make_intent_event(type, intent_id, found[0][2].as<std::int64_t>(),
                          found[0][3].as<std::string>(), found[0][0].as<std::string>());
    std::string header =
        make_signature_header(b.config.webhook_secrets.at(0), now_ms() / 1000, body);
    return handle_webhook(b, header, body);
}

}  // namespace bazaar::payments
