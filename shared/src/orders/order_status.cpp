#include "bazaar/orders/order_status.hpp"

#include <cctype>
#include <string>

#include "bazaar/error.hpp"

namespace bazaar::orders {

std::string_view status_name(Status s) {
    switch (s) {
        case Status::kPending:
            return "PENDING";
        case Status::kPaymentPending:
            return "PAYMENT_PENDING";
        case Status::kPaid:
            return "PAID";
        case Status::kFulfilling:
            return "FULFILLING";
        case Status::kShipped:
            return "SHIPPED";
        case Status::kDelivered:
            return "DELIVERED";
        case Status::kExpired:
            return "EXPIRED";
        case Status::kCancelled:
            return "CANCELLED";
        case Status::kFailed:
            return "FAILED";
        case Status::kRefundPending:
            return "REFUND_PENDING";
        case Status::kRefunded:
            return "REFUNDED";
        case Status::kRefundFailed:
            return "REFUND_FAILED";
    }
    return "PENDING";
}

std::optional<Status> parse_status(std::string_view name) {
    for (Status s : kAllStatuses)
        if (status_name(s) == name) return s;
    return std::nullopt;
}

bool can_transition(Status from, Status to) {
    for (const auto& [f, t] : kTransitions)
        if (f == from && t == to) return true;
    return false;
}

void require_transition(Status from, Status to) {
    if (can_transition(from, to)) return;
    throw Error(ErrorCode::kInvalidTransition, "order cannot move from " +
                                                   std::string(status_name(from)) + " to " +
                                                   std::string(status_name(to)));
}

bool admin_can_transition(Status from, Status to) {
    for (const auto& [f, t] : kAdminTransitions)
        if (f == from && t == to) return true;
    return false;
}

void require_admin_transition(Status from, Status to) {
    if (admin_can_transition(from, to)) return;
    std::string move = std::string(status_name(from)) + " to " + std::string(status_name(to));
    bool money = to == Status::kPaid || to == Status::kRefunded || to == Status::kRefundFailed ||
                 to == Status::kFailed || to == Status::kExpired || to == Status::kPaymentPending ||
                 to == Status::kPending;
    if (money)
        throw Error(ErrorCode::kInvalidTransition,
                    "an admin cannot move an order from " + move + ": " +
                        std::string(status_name(to)) +
                        " follows the payment provider's confirmed events, the refund job "
                        "or the expiry");
    if (to == Status::kRefundPending)
        throw Error(ErrorCode::kInvalidTransition,
                    "an admin cannot move an order from " + move +
                        ": only a paid order (PAID, FULFILLING, SHIPPED, DELIVERED) can be "
                        "refunded; a payment that arrives for an unpaid order is refunded "
                        "by its webhook");
    throw Error(ErrorCode::kInvalidTransition, "an admin cannot move an order from " + move);
}

bool releases_stock(Status to) {
    return to == Status::kExpired || to == Status::kCancelled || to == Status::kFailed ||
           to == Status::kRefundPending;
}

bool releases_stock(Status from, Status to) {
    return releases_stock(to) && from != Status::kShipped && from != Status::kDelivered;
}

bool needs_reserve_again(Status from, Status to) {
    return to == Status::kPaid && (from == Status::kExpired || from == Status::kFailed);
}

std::string event_name(Status s) {
    std::string out = "order.";
    for (char c : status_name(s))
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace bazaar::orders
