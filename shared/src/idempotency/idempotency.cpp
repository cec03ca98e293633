#include "bazaar/idempotency/idempotency.hpp"

#include <openssl/evp.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "bazaar/error.hpp"
#include "bazaar/log.hpp"
#include "bazaar/pg_prepared.hpp"
#include "bazaar/time.hpp"

namespace bazaar::idempotency {

namespace {

// Keys whose release (the DELETE of finish()) failed because Postgres was
// down or frozen: kept in this process and deleted as soon as it answers
// again, by the next begin() of any thread here and by a background thread
// that tries every kReleaseRetry, so that a client retrying after a 503 is
// not told IDEMPOTENCY_IN_PROGRESS until the lease runs out (the request
// never ran). Never destroyed: the thread may outlive static destruction.
struct PendingReleases {
    std::mutex mu;
    std::vector<Scope> keys;
    bool drainer_running = false;
};
PendingReleases& pending() {
    static auto* p = new PendingReleases();
    return *p;
}
constexpr auto kReleaseRetry = std::chrono::milliseconds(250);

std::vector<Scope> take_pending() {
    std::lock_guard lock(pending().mu);
    return std::exchange(pending().keys, {});
}

void put_back(std::vector<Scope> keys) {
    std::lock_guard lock(pending().mu);
    for (auto& k : keys) pending().keys.push_back(std::move(k));
}

void delete_leases(Pg& pg, const std::vector<Scope>& keys) {
    pg.transact([&](pqxx::work& w) {
        for (const auto& k : keys)
            exec_prepared(
                w, "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND owner = $3",
                k.user_id(), k.key(), k.owner());
    });
}

// Deletes the pending releases; on failure they stay pending.
void drain_pending(Pg& pg) {
    auto keys = take_pending();
    if (keys.empty()) return;
    try {
        delete_leases(pg, keys);
        log::info("idempotency keys released after an outage",
                  {{"keys", static_cast<std::int64_t>(keys.size())}});
    } catch (const std::exception&) {
        put_back(std::move(keys));
    }
}

void release_later(const Scope& scope, const std::string& conninfo, int timeout_ms) {
    std::lock_guard lock(pending().mu);
    pending().keys.push_back(scope);
    if (pending().drainer_running) return;
    pending().drainer_running = true;
    std::thread([conninfo, timeout_ms] {
        Pg pg(conninfo, timeout_ms);
        for (;;) {
            std::this_thread::sleep_for(kReleaseRetry);
            drain_pending(pg);
            std::lock_guard lock(pending().mu);
            if (pending().keys.empty()) {
                pending().drainer_running = false;
                return;
            }
        }
    }).detach();
}

void digest_part(EVP_MD_CTX* ctx, std::string_view part) {
    std::string len = std::to_string(part.size()) + ":";
    EVP_DigestUpdate(ctx, len.data(), len.size());
    EVP_DigestUpdate(ctx, part.data(), part.size());
}

}  // namespace

std::string fingerprint(std::string_view method, std::string_view path, std::string_view body) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    digest_part(ctx, method);
    digest_part(ctx, path);
    digest_part(ctx, body);
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out += kHex[md[i] >> 4];
        out += kHex[md[i] & 15];
    }
    return out;
}

std::string validate_key(const std::optional<std::string_view>& header) {
    if (!header || header->empty())
        throw Error::validation("Idempotency-Key", "is required (1 to 255 characters)");
    if (header->size() > 255)
        throw Error::validation("Idempotency-Key", "must be at most 255 characters");
    for (char c : *header) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7e)
            throw Error::validation("Idempotency-Key", "must be printable ASCII");
    }
    return std::string(*header);
}

void Scope::record_in(pqxx::transaction_base& w, const StoredResponse& r,
                      const std::string& order_id) {
    auto rows = exec_prepared(
        w,
        "UPDATE idempotency_keys SET status_code = $4, content_type = $5, response_body = $6, "
        "order_id = NULLIF($7, '')::uuid, owner = NULL, locked_until = NULL "
        "WHERE user_id = $1 AND key = $2 AND owner = $3 RETURNING 1",
        user_id_, key_, owner_, r.status, r.content_type, r.body, order_id);
    if (rows.empty())
        throw Error(ErrorCode::kIdempotencyInProgress,
                    "this request lost its Idempotency-Key to a retry");
    recorded_ = true;
}

Begun begin(Pg& pg, const std::string& user_id, const std::string& key, const std::string& fp,
            std::int64_t lease_ms) {
    drain_pending(pg);  // a retry of a request that ended in 503 finds its key free
    std::string owner = uuid_v4();
    return pg.transact([&](pqxx::work& w) -> Begun {
        // The lease needs no fsync of its own: the answer recorded under it
        // is written by a later, synchronous commit, and Postgres's WAL is
        // flushed in order, so that commit makes the lease durable too; a
        // crash before it loses a lease whose request never committed. So
        // this transaction commits asynchronously (set_config(..., true) is
        // SET LOCAL; run in the INSERT's FROM, it costs no round trip).
        auto ins = exec_prepared(
            w,
            "INSERT INTO idempotency_keys (user_id, key, request_hash, owner, locked_until) "
            "SELECT $1, $2, $3, $4, now() + make_interval(secs => $5::float8 / 1000) "
            "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit "
            "ON CONFLICT DO NOTHING RETURNING 1",
            user_id, key, fp, owner, lease_ms);
        if (!ins.empty()) return {std::nullopt, Scope(user_id, key, owner)};
        auto r =
            exec_prepared(w,
                          "SELECT request_hash, status_code, content_type, response_body, "
                          "locked_until > now(), created_at < now() - make_interval(secs => $3) "
                          "FROM idempotency_keys WHERE user_id = $1 AND key = $2 FOR UPDATE",
                          user_id, key, kKeyTtlS);
        if (r.empty()) throw Error(ErrorCode::kConflict, "Idempotency-Key changed; retry");
        const auto& row = r[0];
        bool expired = row[5].as<bool>();
        if (!expired) {
            if (row[0].as<std::string>() != fp)
                throw Error(ErrorCode::kIdempotencyKeyReused,
                            "this Idempotency-Key was used with another request");
            if (!row[1].is_null())
                return {StoredResponse{row[1].as<int>(),
                                       row[2].is_null() ? "" : row[2].as<std::string>(),
                                       row[3].is_null() ? "" : row[3].as<std::string>()},
                        std::nullopt};
            if (!row[4].is_null() && row[4].as<bool>())
                throw Error(ErrorCode::kIdempotencyInProgress,
                            "a request with this Idempotency-Key is still running")
                    .with_header("Retry-After", "1");
        }
        // Expired (24 h) or its lease ran out (the process holding it died
        // before committing anything): start again under a new lease.
        exec_prepared(
            w,
            "UPDATE idempotency_keys SET request_hash = $3, owner = $4, "
            "locked_until = now() + make_interval(secs => $5::float8 / 1000), status_code = NULL, "
            "content_type = NULL, response_body = NULL, order_id = NULL, "
            "created_at = CASE WHEN $6 THEN now() ELSE created_at END "
            "WHERE user_id = $1 AND key = $2",
            user_id, key, fp, owner, lease_ms, expired);
        if (!expired) log::warn("idempotency key lease ran out; taken over", {{"key", key}});
        return {std::nullopt, Scope(user_id, key, owner)};
    });
}

bool is_outcome(int status, std::string_view code) {
    if (status < 400) return true;
    if (status == 503 || status == 401 || status == 415 || status == 429 || status == 413)
        return false;
    if (code == "VALIDATION_FAILED" || code == "MALFORMED_JSON" ||
        code == "IDEMPOTENCY_IN_PROGRESS" || code == "IDEMPOTENCY_KEY_REUSED")
        return false;
    return true;
}

void finish(Pg& pg, Scope& scope, const StoredResponse& r, std::string_view code) {
    if (scope.recorded()) return;
    try {
        if (is_outcome(r.status, code)) {
            pg.transact([&](pqxx::work& w) { scope.record_in(w, r); });
        } else {
            delete_leases(pg, {scope});
        }
    } catch (const std::exception& e) {
        if (is_outcome(r.status, code)) {
            log::warn("idempotency key not finished; its lease will run out",
                      {{"key", scope.key()}, {"error", e.what()}});
        } else {
            // The request did not run (typically a 503 because Postgres is
            // down or frozen: then this DELETE fails too): the key is
            // released as soon as Postgres answers again.
            log::warn("idempotency key release deferred until Postgres answers",
                      {{"key", scope.key()}, {"error", e.what()}});
            release_later(scope, pg.conninfo(), pg.timeout_ms());
        }
    }
}

int purge_expired(Pg& pg, int limit) {
    return pg.transact([&](pqxx::work& w) {
        return static_cast<int>(
            exec_prepared(w,
                          "DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM "
                          "idempotency_keys WHERE created_at < now() - make_interval(secs => $1) "
                          "LIMIT $2)",
                          kKeyTtlS, limit)
                .affected_rows());
    });
}

}  // namespace bazaar::idempotency
