// Bodies of the `cleanup` branch's pipeline jobs. Each removes exactly what
// its rule says, by reusing the module that owns the rule, and returns how
// much it removed (the job's result, {"removed": n, ...}).
//
//   cleanup.reservations      overdue PAYMENT_PENDING orders → EXPIRED
//                             (orders::expire_overdue → orders::expire →
//                             orders::transition, the rule of the expiry
//                             job) and stock holds past their lease
//                             (orders::stock::sweep_holds). A safety net
//                             behind the order-expiry queue and the sweeper.
//   cleanup.idempotency_keys  idempotency keys past 24 h
//                             (idempotency::purge_expired).
//   cleanup.job_events        job:events entries older than kEventsMaxAge
//                             (XTRIM MINID: stream ids are the append time).
//   cleanup.carts             durable carts (Postgres) idle for kCartIdle
//                             whose live Redis cart is gone: the live cart
//                             expires by itself 30 days after its last change
//                             (PEXPIRE in lua/lib/cart.lua), so a live cart
//                             still present is, by definition, not idle.
//
// Not here, on purpose: refresh tokens are Redis hashes with a TTL (they
// expire by themselves; there are no rows to purge), and the store has no
// notifications store.
//
// Every function works in bounded batches so that one run never holds a long
// transaction; each is safe to run concurrently with itself and with the
// request path (the deletes re-check their condition).
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "bazaar/backends.hpp"

namespace bazaar::pipelines::cleanup {

inline constexpr std::chrono::hours kEventsMaxAge{7 * 24};
inline constexpr std::chrono::hours kCartIdle{30 * 24};

nlohmann::json expire_reservations(Backends& b);
nlohmann::json purge_idempotency_keys(Backends& b);
// Removes the entries of `stream` appended before `now - max_age`.
std::int64_t trim_stream(Redis& redis, std::string_view stream, std::chrono::milliseconds max_age,
                         std::chrono::system_clock::time_point now);
nlohmann::json trim_job_events(Backends& b);
nlohmann::json remove_idle_carts(Backends& b);

}  // namespace bazaar::pipelines::cleanup
