#include "bazaar/users/user_service.hpp"

#include <locale.h>
#include <wctype.h>

#include <nlohmann/json.hpp>

#include "bazaar/auth/password.hpp"
#include "bazaar/error.hpp"
#include "bazaar/mail/mime.hpp"

namespace bazaar::users {

namespace {
#define USER_COLUMNS                    \
    "id::text, email, username, role, " \
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

User from_row(const pqxx::row& r) {
    return User{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                r[3].as<std::string>(), r[4].as<std::string>()};
}

// The locale whose towlower Postgres's lower() uses on a C.UTF-8 database.
// nullptr if the C library lacks it: then only ASCII addresses are accepted,
// which can never disagree with lower().
locale_t c_utf8() {
    static locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
    return loc;
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Lower-cases well-formed UTF-8 code point by code point; nullopt when `s`
// is not well-formed or (without C.UTF-8) not ASCII.
std::optional<std::string> lower_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
            ++i;
            continue;
        }
        int extra = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
        if (extra < 0 || i + static_cast<std::size_t>(extra) >= s.size() || !c_utf8())
            return std::nullopt;
        std::uint32_t cp = c & (0x3F >> extra);
        for (int k = 1; k <= extra; ++k) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return std::nullopt;
            cp = (cp << 6) | (cc & 0x3F);
        }
        i += static_cast<std::size_t>(extra) + 1;
        append_utf8(out, static_cast<std::uint32_t>(towlower_l(static_cast<wint_t>(cp), c_utf8())));
    }
    return out;
}

Error bad_email() {
    return Error::validation("email", "must be a valid email address");
}
}  // namespace

nlohmann::json to_json(const User& u) {
    return {{"id", u.id},
            {"email", u.email},
            {"username", u.username},
            {"role", u.role},
            {"createdAt", u.created_at}};
}

std::string normalize_email(std::string_view email) {
    if (!is_clean_text(email, false) || has_format_controls(email)) throw bad_email();
    auto lowered = lower_utf8(email);
    if (!lowered) throw bad_email();
    const std::string& e = *lowered;
    std::size_t n = utf8_length(e);
    auto at = e.find('@');
    bool ok = n >= kEmailRule.min && n <= kEmailRule.max && at != std::string::npos && at > 0 &&
              at == e.rfind('@') && e.find('.', at) != std::string::npos && e.back() != '.' &&
              e.find_first_of(" \t\r\n<>()[],;:\"\\") == std::string::npos;
    if (!ok) throw bad_email();
    return e;
}

std::string deliverable_email(std::string_view email) {
    std::string e = normalize_email(email);
    if (!mail::mime::is_safe_address(e))
        throw Error::validation("email",
                                "must be an ASCII address (the mailer cannot deliver to "
                                "non-ASCII addresses)");
    return e;
}

void validate_username(std::string_view username) {
    size_t n = utf8_length(username);
    if (n < kUsernameRule.min || n > kUsernameRule.max)
        throw Error::validation("username", "must be " + std::to_string(kUsernameRule.min) +
                                                " to " + std::to_string(kUsernameRule.max) +
                                                " characters");
    if (!is_clean_text(username, false))
        throw Error::validation("username", "must not contain control characters");
    if (has_format_controls(username))
        throw Error::validation("username", "must not contain invisible formatting characters");
    if (is_blank(username)) throw Error::validation("username", "must not be blank");
}

void validate_password(std::string_view password, const char* field) {
    size_t n = utf8_length(password);
    if (n < kPasswordRule.min || n > kPasswordRule.max)
        throw Error::validation(field, "must be " + std::to_string(kPasswordRule.min) + " to " +
                                           std::to_string(kPasswordRule.max) + " characters");
    if (!is_clean_text(password, false))
        throw Error::validation(field, "must not contain control characters");
}

std::optional<User> find_by_email(pqxx::transaction_base& tx, std::string_view email) {
    auto r =
        tx.exec_params("SELECT " USER_COLUMNS " FROM users WHERE email = $1", std::string(email));
    if (r.empty()) return std::nullopt;
    return from_row(r[0]);
}

std::optional<User> find_by_id(pqxx::transaction_base& tx, std::string_view id) {
    if (!is_uuid(id)) return std::nullopt;
    auto r =
        tx.exec_params("SELECT " USER_COLUMNS " FROM users WHERE id = $1::uuid", std::string(id));
    if (r.empty()) return std::nullopt;
    return from_row(r[0]);
}

std::optional<Credentials> find_credentials(pqxx::transaction_base& tx, std::string_view email) {
    auto r = tx.exec_params("SELECT " USER_COLUMNS ", password_hash FROM users WHERE email = $1",
                            std::string(email));
    if (r.empty()) return std::nullopt;
    return Credentials{from_row(r[0]), r[0][5].as<std::string>()};
}

User update_username(Pg& pg, std::string_view id, std::string_view username) {
    validate_username(username);
    if (!is_uuid(id)) throw Error::not_found("user");
    return pg.transact([&](pqxx::work& w) {
        auto r = w.exec_params(
            "UPDATE users SET username = $2, updated_at = now() "
            "WHERE id = $1::uuid RETURNING " USER_COLUMNS,
            std::string(id), std::string(username));
        if (r.empty()) throw Error::not_found("user");
        return from_row(r[0]);
    });
}

void set_password_hash(Pg& pg, std::string_view id, const std::string& hash) {
    if (!is_uuid(id)) throw Error::not_found("user");
    pg.transact([&](pqxx::work& w) {
        auto r = w.exec_params(
            "UPDATE users SET password_hash = $2, updated_at = now() "
            "WHERE id = $1::uuid",
            std::string(id), hash);
        if (r.affected_rows() == 0) throw Error::not_found("user");
    });
}

User create_user_with_hash(Pg& pg, std::string_view email, std::string_view username,
                           const std::string& password_hash, const std::string& role) {
    std::string e = deliverable_email(email);
    validate_username(username);
    if (role != "user" && role != "admin") throw Error::validation("role", "must be user or admin");
    try {
        return pg.transact([&](pqxx::work& w) {
            auto r = w.exec_params(
                "INSERT INTO users (email, username, password_hash, role) "
                "VALUES ($1, $2, $3, $4) RETURNING " USER_COLUMNS,
                e, std::string(username), password_hash, role);
            return from_row(r[0]);
        });
    } catch (const pqxx::unique_violation&) {
        throw Error(ErrorCode::kConflict, "a user with this email already exists");
    }
}

User create_user(Pg& pg, std::string_view email, std::string_view username,
                 std::string_view password, const std::string& role) {
    deliverable_email(email);
    validate_username(username);
    validate_password(password);
    return create_user_with_hash(pg, email, username, auth::hash_password(password), role);
}

User ensure_user(Pg& pg, std::string_view email, std::string_view username,
                 std::string_view password, const std::string& role) {
    std::string e = normalize_email(email);
    auto existing = pg.transact([&](pqxx::work& w) { return find_by_email(w, e); });
    if (existing) return *existing;
    try {
        return create_user(pg, e, username, password, role);
    } catch (const Error& err) {
        if (err.code() != ErrorCode::kConflict) throw;
        return *pg.transact([&](pqxx::work& w) { return find_by_email(w, e); });
    }
}

}  // namespace bazaar::users
