// Outgoing email: the templates and the MIME message built from them.
//
// A message has a plain-text part and an HTML alternative
// (multipart/alternative, both quoted-printable UTF-8), RFC 2047 Subject and
// display names, Date, Message-ID and MIME-Version (mime.hpp holds the
// encoding rules). The templates are constexpr strings in one module
// (src/mail/templates.cpp): they ship inside the binary, so a worker can never
// start with a missing or half-deployed template folder, and a unit test
// renders every one of them. Delivery is SMTP (smtp.hpp).
//
// Must never: put a user-supplied string into a header unchecked, put one
// unescaped into the HTML part, or log a password-reset token.
#pragma once

#include <cstdint>
#include <ctime>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "bazaar/mail/mime.hpp"

namespace bazaar::mail {

struct Message {
    mime::Mailbox from;
    mime::Mailbox to;
    std::string subject;     // UTF-8
    std::string text;        // UTF-8 plain text body, LF line ends
    std::string html;        // UTF-8 HTML body
    std::string message_id;  // without angle brackets
    std::time_t date = 0;
    // e.g. {"X-Bazaar-Job", "<job id>"}: names [A-Za-z0-9-], values one line.
    std::vector<std::pair<std::string, std::string>> extra_headers;
};

struct Settings {
    std::string from;             // MAIL_FROM, "Name <addr>" or "addr"
    std::string public_base_url;  // links in bodies
};

// One line of an order as the emails show it.
struct OrderLine {
    std::string title;
    std::int64_t unit_price_cents = 0;
    int quantity = 0;
};

// What the order emails need, read at render time (order_mail.hpp).
struct OrderView {
    std::string id;
    std::string status;
    std::int64_t total_cents = 0;
    std::string currency;
    std::vector<OrderLine> items;
    std::string email;
    std::string username;
};

// Renders an account email. Templates: "welcome" {to, username},
// "password_reset" {to, username, token, ttlS}. Throws std::invalid_argument
// for an unknown template, missing data or an unusable address (a job that
// can never succeed).
Message render(const std::string& template_name, const nlohmann::json& data, const Settings& s);

// Renders an order email: "order_confirmation", "order_shipped",
// "order_expired", "order_refunded". Throws std::invalid_argument like render().
Message render_order(const std::string& template_name, const OrderView& order, const Settings& s);

// "12.34 USD" (two minor digits; none for JPY, KRW and the other zero-decimal
// currencies of ISO 4217).
std::string format_money(std::int64_t cents, const std::string& currency);

// A stable Message-ID for a delivery key (a job id): the same job sends the
// same id, so a message that went out twice is recognisable as one.
std::string message_id_for(const std::string& key, const Settings& s);

// The whole RFC 5322 message, CRLF line ends, ready for SMTP DATA.
// Throws std::invalid_argument for an unusable address or header name.
std::string to_mime(const Message& m);

}  // namespace bazaar::mail
