// Writes that must survive a Redis failover before the client hears "done".
//
// Redis replicates asynchronously: a master acknowledges a write before any
// replica has it, and a failover in between promotes a replica without it
// (docs/redis-cluster.md "Failover: what Redis Cluster can lose"). For the few writes
// whose loss a client could notice after being told they succeeded, the
// caller sends WAIT after the write, on the connection (cluster: the node)
// that made it, before answering: REDIS_WAIT_REPLICAS replicas, at most
// REDIS_WAIT_TIMEOUT_MS. Those writes are, and only these:
//   - a job added by queue::add/add_bulk (a producer, the outbox relay
//     before it stamps the row published, an admin run: "job accepted");
//   - a session revocation (logout, password reset, stolen refresh token):
//     lost, it would bring revoked tokens back to life;
//   - a refresh-token rotation: lost, the spent token would be unspent
//     again and a replay of it would go undetected;
//   - the cache generation bump after a committed write (around_write):
//     lost, bodies of the old generation would be served as fresh until
//     their TTL, breaking read-your-writes (API.md §3).
// Nothing on a read path waits, and neither do cart writes, stock holds,
// cache fills, rate limits or live events: what a failover loses of those is
// rebuilt or harmless (docs/redis-cluster.md).
//
// A WAIT that comes back short (the replicas lag or are down) does not turn
// the write into a failure: the master has applied it, a retry would apply
// it twice, and an error would tell the client the opposite of what
// happened. It is logged (warn) and counted (bazaar_redis_wait_short_total),
// and the client gets its success: the failover window is open for that
// write, as it is for everything when replicas are down.
#pragma once

#include <string_view>

namespace bazaar {
class Redis;
struct Config;
}  // namespace bazaar

namespace bazaar::replication {

// Reads REDIS_WAIT_REPLICAS / REDIS_WAIT_TIMEOUT_MS. Call once at start-up
// (next to load_scripts), before threads start. Until then: off.
void configure(const Config& config);
void configure(int replicas, int timeout_ms);
int wanted_replicas();

// After a must-survive write of `key` (any key the write touched; on a
// cluster it picks the node): WAIT for the configured replicas. `what`
// names the write in the log. Returns true when enough replicas have it (or
// waiting is off). Never throws for a short or failed WAIT (see above).
bool confirm(Redis& redis, std::string_view key, std::string_view what);

}  // namespace bazaar::replication
