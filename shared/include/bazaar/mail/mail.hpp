// Outgoing email: the templates (welcome, password reset) and the delivery
// of a rendered message. Delivery today writes an RFC 5322 `.eml` file under
// var/mail/ (one file per message, written atomically); SMTP will come later
// behind `deliver()` without touching the templates or the jobs.
//
// Must never: put a user-supplied string into a header unchecked (CR/LF
// would let it add headers), or log a password-reset token.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace bazaar::mail {

struct Message {
    std::string from;
    std::string to;
    std::string subject;
    std::string text;        // UTF-8 plain text body
    std::string message_id;  // without angle brackets
    std::string date;        // RFC 5322 date
};

struct Settings {
    std::string from;             // MAIL_FROM
    std::string public_base_url;  // links in bodies
    std::string mail_dir;         // var/mail
};

// Renders a job's data into a message. Known templates: "welcome" {to,
// username}, "password_reset" {to, username, token, ttlS}. Throws
// std::invalid_argument for an unknown template or missing data (a job that
// can never succeed).
Message render(const std::string& template_name, const nlohmann::json& data, const Settings& s);

// The message as an .eml file's content (CRLF line ends, UTF-8, 8bit).
std::string to_eml(const Message& m);

// Writes the message as <s.mail_dir>/<key>.eml and returns the path. The key
// (a job id) makes delivery idempotent: a job that runs twice rewrites the
// same file instead of sending a second message. Characters other than
// [A-Za-z0-9._-] in the key become '_'. Throws std::runtime_error when the
// folder is not writable.
std::string deliver(const Message& m, const Settings& s, const std::string& key);

}  // namespace bazaar::mail
