#include "bazaar/payments/webhook_event.hpp"

#include <nlohmann/json.hpp>

#include "bazaar/error.hpp"
#include "bazaar/json_input.hpp"
#include "bazaar/time.hpp"

namespace bazaar::payments {

namespace {

[[noreturn]] void invalid(std::string field, std::string reason) {
    throw Error(ErrorCode::kValidationFailed, "the event lacks what a payment event carries",
                {{std::move(field), std::move(reason)}});
}

std::string text(const nlohmann::json& obj, const char* key, const std::string& field,
                 std::size_t max) {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_string()) invalid(field, "must be a string");
    const auto& s = it->get_ref<const std::string&>();
    if (s.empty() || s.size() > max || !is_clean_text(s, false))
        invalid(field, "must be 1.." + std::to_string(max) + " printable characters");
    return s;
}

}  // namespace

bool WebhookEvent::is_refund() const {
    return type == kRefundUpdated || type == kRefundFailed || type == kChargeRefundUpdated;
}

WebhookEvent parse_webhook_event(std::string_view body) {
    auto json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded() || !json.is_object())
        throw Error(ErrorCode::kMalformedJson, "the event is not a JSON object");
    WebhookEvent ev;
    ev.id = text(json, "id", "id", 255);
    ev.type = text(json, "type", "type", 255);
    if (ev.type != kIntentSucceeded && ev.type != kIntentFailed && !ev.is_refund()) return ev;

    auto data = json.find("data");
    if (data == json.end() || !data->is_object()) invalid("data", "must be an object");
    auto obj = data->find("object");
    if (obj == data->end() || !obj->is_object()) invalid("data.object", "must be an object");
    if (ev.is_refund()) {
        ev.refund_id = text(*obj, "id", "data.object.id", 255);
        ev.refund_status = text(*obj, "status", "data.object.status", 64);
        auto pi = obj->find("payment_intent");
        if (pi != obj->end() && pi->is_string())
            ev.intent_id = text(*obj, "payment_intent", "data.object.payment_intent", 255);
        return ev;
    }
    ev.intent_id = text(*obj, "id", "data.object.id", 255);
    auto amount = obj->find("amount");
    if (amount == obj->end() || !amount->is_number_integer() || amount->get<std::int64_t>() < 0)
        invalid("data.object.amount", "must be a non-negative integer");
    ev.amount = amount->get<std::int64_t>();
    ev.currency = text(*obj, "currency", "data.object.currency", 3);
    if (ev.currency.size() != 3) invalid("data.object.currency", "must be an ISO 4217 code");
    for (auto& c : ev.currency) {
        if (!std::isalpha(static_cast<unsigned char>(c)))
            invalid("data.object.currency", "must be an ISO 4217 code");
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    auto meta = obj->find("metadata");
    if (meta != obj->end() && meta->is_object()) {
        auto oid = meta->find("orderId");
        if (oid != meta->end() && oid->is_string()) ev.order_id = oid->get<std::string>();
    }
    return ev;
}

std::string make_intent_event(std::string_view type, std::string_view intent_id,
                              std::int64_t amount, std::string_view currency,
                              std::string_view order_id) {
    std::string lower(currency);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    nlohmann::json ev = {
        {"id", "evt_test_" + random_hex(12)},
        {"object", "event"},
        {"type", type},
        {"created", now_ms() / 1000},
        {"livemode", false},
        {"data",
         {{"object",
           {{"id", intent_id},
            {"object", "payment_intent"},
            {"amount", amount},
            {"currency", lower},
            {"status", type == kIntentSucceeded ? "succeeded" : "requires_payment_method"},
            {"metadata", {{"orderId", order_id}}}}}}}};
    return ev.dump();
}

}  // namespace bazaar::payments
