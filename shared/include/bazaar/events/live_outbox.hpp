// Live events through the transactional outbox: for state changes in
// Postgres (orders) whose event must exist if and only if the change commits.
//
// add_in_transaction() writes an outbox row (topic 'live', payload {room,
// event, data as JSON text so its bytes are kept}, ordering_key) in the
// caller's transaction; bazaar-worker's relay (relay_live_events) publishes
// it through the same path as the cart's events (lua/lib/live_events.lua:
// the room's stream + pub/sub), then stamps the row.
//
// Guarantees: at least once, and at most once in effect — the relay script
// remembers relayed row ids per room (lua/live_event_emit_once.lua), so a
// relay killed between publishing and stamping does not emit twice when the
// row is relayed again. Rows of one ordering key (an order) are published in
// id order, which is commit order for them (each change locks the order
// row): a row is taken only when no earlier row of its key is unpublished,
// so a second relay never overtakes the first.
#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <string_view>

#include "bazaar/pg.hpp"
#include "bazaar/redis.hpp"

namespace bazaar::live {

inline constexpr const char* kOutboxTopic = "live";

void add_in_transaction(pqxx::transaction_base& tx, std::string_view room, std::string_view event,
                        std::string_view data_json, std::string_view ordering_key);

// Publishes up to `limit` rows in one transaction; returns how many rows it
// took. A row whose payload is not valid, or that Redis refuses for a fault
// of its own (a non-outage error reply of its script), is set aside
// (failed_at, last_error) and the others are published: one bad row never
// stalls the relay. Throws Error(kUnavailable) while Redis or Postgres is
// down or refusing (an outage reply: OOM, READONLY, ...): then all rows wait.
int relay_live_events(Pg& pg, Redis& redis, int limit);

// "{<room>}:relayed": the relayed row ids of a room, under the room's tag
// (lua/live_event_emit_once.lua touches it with the room's stream).
std::string relayed_key(std::string_view room);

}  // namespace bazaar::live
