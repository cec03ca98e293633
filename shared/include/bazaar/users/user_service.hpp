// Users: the rules for email, username and password, and the rows. The
// password hash never leaves this module (User has no such field).
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "bazaar/json_input.hpp"
#include "bazaar/pg.hpp"
#include "bazaar/uuid.hpp"

namespace bazaar::users {

struct User {
    std::string id;
    std::string email;
    std::string username;
    std::string role;        // "user" | "admin"
    std::string created_at;  // RFC 3339
};

nlohmann::json to_json(const User& u);

// ---- the account rules, once ----------------------------------------------
// Lengths count code points, as Postgres's length() does; the CHECK
// constraints of `users` (migrations 0001, 0003) are these same numbers.
// Handlers pass these rules to JsonInput; the service checks them again for
// callers without a body (the CLI, the seed).
inline constexpr StringRule kEmailRule{.min = 3, .max = 254};
inline constexpr StringRule kUsernameRule{.min = 1, .max = 64};
inline constexpr StringRule kPasswordRule{.min = 8, .max = 128};

// The one normalisation of an email address, used for every lookup and
// every insert. Lower-cases every code point with the C.UTF-8 locale's
// towlower, which is exactly what Postgres's lower() does on this database
// (collation C.UTF-8, pinned in the users CHECK by migration 0003), so the
// constraint `email = lower(email)` can never disagree with the app
// ("Ölaf@…" → "ölaf@…", "İx@…" → "ix@…"). Refuses control and format
// characters, malformed UTF-8 and anything that is not local@domain.
// Each throws Error(kValidationFailed) naming the field.
std::string normalize_email(std::string_view email);
// The address a NEW account may have: normalize_email(), and then one the
// mailer can deliver to (mail::mime::is_safe_address, the envelope rule of
// smtp_send: printable ASCII). A non-ASCII address would need SMTPUTF8 end
// to end, which the mailer does not speak, so such an account would never
// get its welcome or a password reset: it is refused with 400 naming
// `email` instead (issue 18, item 9). Lookups (login, reset request) keep
// normalize_email, so an older account with such an address still signs in.
std::string deliverable_email(std::string_view email);
// 1..64 code points, not blank (white space only), no control characters
// and no bidi/zero-width format characters (`admin\u202e`).
void validate_username(std::string_view username);
void validate_password(std::string_view password, const char* field = "password");

// Creates a user (hashing the password). Throws Error(kConflict) when the
// email is taken.
User create_user(Pg& pg, std::string_view email, std::string_view username,
                 std::string_view password, const std::string& role);
// Same with a hash computed by the caller (who bounds hashing concurrency).
User create_user_with_hash(Pg& pg, std::string_view email, std::string_view username,
                           const std::string& password_hash, const std::string& role);
// Creates the user, or when the email exists returns it unchanged.
User ensure_user(Pg& pg, std::string_view email, std::string_view username,
                 std::string_view password, const std::string& role);
std::optional<User> find_by_email(pqxx::transaction_base& tx, std::string_view email);
// nullopt for an unknown id, or for a string that is not a UUID at all.
std::optional<User> find_by_id(pqxx::transaction_base& tx, std::string_view id);

// What login needs: the user and the stored argon2id hash.
struct Credentials {
    User user;
    std::string password_hash;
};
std::optional<Credentials> find_credentials(pqxx::transaction_base& tx, std::string_view email);

// Throws Error(kNotFound) when the user no longer exists.
User update_username(Pg& pg, std::string_view id, std::string_view username);
// Stores a new argon2id hash. Throws Error(kNotFound) for an unknown user.
void set_password_hash(Pg& pg, std::string_view id, const std::string& hash);

// Kept for callers written before bazaar/uuid.hpp; same rule (either case).
inline bool looks_like_uuid(std::string_view s) {
    return is_uuid(s);
}

}  // namespace bazaar::users
