#include "bazaar/users/user_service.hpp"

#include <nlohmann/json.hpp>

#include "bazaar/auth/password.hpp"
#include "bazaar/error.hpp"

namespace bazaar::users {

namespace {
#define USER_COLUMNS                    \
    "id::text, email, username, role, " \
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

User from_row(const pqxx::row& r) {
    return User{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                r[3].as<std::string>(), r[4].as<std::string>()};
}

size_t utf8_length(std::string_view s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
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
    std::string e;
    for (char c : email) e += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    auto at = e.find('@');
    bool ok = e.size() >= 3 && e.size() <= 254 && at != std::string::npos && at > 0 &&
              at == e.rfind('@') && e.find('.', at) != std::string::npos && e.back() != '.' &&
              e.find_first_of(" \t\r\n<>()[],;:\"\\") == std::string::npos;
    if (!ok) throw Error::validation("email", "must be a valid email address");
    return e;
}

void validate_username(std::string_view username) {
    size_t n = utf8_length(username);
    if (n < 1 || n > 64) throw Error::validation("username", "must be 1 to 64 characters");
    for (unsigned char c : username)
        if (c < 0x20) throw Error::validation("username", "must not contain control characters");
}

void validate_password(std::string_view password, const char* field) {
    size_t n = utf8_length(password);
    if (n < 8 || n > 128) throw Error::validation(field, "must be 8 to 128 characters");
}

std::optional<User> find_by_email(pqxx::transaction_base& tx, std::string_view email) {
    auto r =
        tx.exec_params("SELECT " USER_COLUMNS " FROM users WHERE email = $1", std::string(email));
    if (r.empty()) return std::nullopt;
    return from_row(r[0]);
}

bool looks_like_uuid(std::string_view s) {
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (dash ? c != '-' : !hex) return false;
    }
    return true;
}

std::optional<User> find_by_id(pqxx::transaction_base& tx, std::string_view id) {
    if (!looks_like_uuid(id)) return std::nullopt;
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
    if (!looks_like_uuid(id)) throw Error::not_found("user");
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
    if (!looks_like_uuid(id)) throw Error::not_found("user");
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
    std::string e = normalize_email(email);
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
    normalize_email(email);
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
