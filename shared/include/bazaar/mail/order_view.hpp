// The order emails' view of an order, read when the email job renders
// (tables orders, order_items, users of migrations/0001_init.sql): the job
// carries the order id only.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "bazaar/mail/mail.hpp"

namespace bazaar::mail {

// Nullopt when no order has this id (or it is not a UUID). Items come in
// title order.
std::optional<OrderView> load_order_view(pqxx::transaction_base& tx, const std::string& order_id);

}  // namespace bazaar::mail
