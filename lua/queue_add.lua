--[[ queue_add: add one or more jobs to a queue, atomically.

Key layout of a queue (every key under the hash tag {q:<name>}, so that all
queue scripts run on Redis Cluster: one queue = one slot):

  {q:n}:seq          STRING  counter: generated job ids and FIFO order
  {q:n}:job:<id>     HASH    the job (fields below)
  {q:n}:wait         ZSET    waiting ids, score = prio * 2^32 + seq % 2^32
                             (lower runs first; FIFO within one priority)
  {q:n}:delayed      ZSET    delayed ids, score = due time (ms, Redis clock)
  {q:n}:active       ZSET    running ids, score = lease expiry (ms)
  {q:n}:completed    ZSET    score = finish time (ms)
  {q:n}:failed       ZSET    score = finish time (ms)
  {q:n}:waitdeps     ZSET    ids waiting for dependencies, score = add time
  {q:n}:deps:<id>    SET     ids of jobs waiting for job <id> to complete
  {q:n}:dlq          LIST    dead letters: JSON {id,name,error,attempts,failedAt}
  {q:n}:marker       ZSET    one member; workers block on it (BZPOPMIN) and
                             every add that makes work available sets it
  {q:n}:meta         HASH    paused=1 while paused
  {q:n}:rate         HASH    per-second completed/failed counters, 60 slots
  {q:n}:limiter      STRING  rate limiter: jobs started in the current window
  {q:n}:repeat       HASH    cron schedule key -> last tick enqueued (ms)

Job hash fields: name data ts(added ms) prio seq delay att(max attempts)
bt(backoff type) bd(backoff ms) rc/rf(keep on complete/fail "ageS,count",
-1 = unbounded) to(timeout ms) state atm(attempts made) lc(lease counter)
tok(lease token while active, '' otherwise) pon(last start ms) fon(finish ms) due err rv
stc(stalls) deps(unfinished dependencies) dependsOn hd(=1: has dependents).

Job ids: generated ones are the decimal value of :seq; the producer rejects
all-digit custom ids so the two never collide. Adding an id that exists is a
no-op (dedupe), reported as status 0.

Events: Redis Cluster forbids a script to touch keys of another slot, so the
global stream job:events cannot be written here. Every queue script instead
returns the state changes it made as flat 6-tuples
  id, name, state, attempt, durationMs|dueMs, error
and the caller appends them to job:events (XADD, MAXLEN ~).

KEYS: 1 seq, 2 wait, 3 delayed, 4 marker, 5 waitdeps, 6 failed, 7 dlq, 8 repeat
ARGV: 1 prefix "{q:n}:", 2 repeat key ('' = none), 3 repeat tick (ms),
      4 job count, then per job 12 fields:
      id('' = generate) name data prio delay att bt bd rc rf to dependsOn(csv)
Returns { {id, status, ...}, events }, status 1 = added, 0 = existed.
With a repeat key whose tick is not newer than the stored one: { {}, {} }.
Errors: "ERR unknown dependency <id>" before any write.
]]
--#include queue
local prefix = queue_prefix()
local n = tonumber(ARGV[4])
local FIELDS = 12

if ARGV[2] ~= '' then
  local last = redis.call('HGET', KEYS[8], ARGV[2])
  if last and tonumber(last) >= tonumber(ARGV[3]) then return { {}, {} } end
end

-- Validate dependencies first so that a bad call writes nothing.
local in_batch = {}
for i = 0, n - 1 do
  local b = 5 + i * FIELDS
  local deps = ARGV[b + 11]
  if deps ~= '' then
    for dep in string.gmatch(deps, '[^,]+') do
      if not in_batch[dep] and redis.call('EXISTS', prefix .. 'job:' .. dep) == 0 then
        return redis.error_reply('ERR unknown dependency ' .. dep)
      end
    end
  end
  if ARGV[b] ~= '' then in_batch[ARGV[b]] = true end
end

-- The tick is recorded only once the call is known to be valid.
if ARGV[2] ~= '' then redis.call('HSET', KEYS[8], ARGV[2], ARGV[3]) end

local now = queue_now_ms()
local results = {}
local wake = false

for i = 0, n - 1 do
  local b = 5 + i * FIELDS
  local id, name, prio, delay = ARGV[b], ARGV[b + 1], tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])
  local seq = redis.call('INCR', KEYS[1])
  if id == '' then id = tostring(seq) end
  local jk = prefix .. 'job:' .. id
  if redis.call('EXISTS', jk) == 1 then
    results[#results + 1] = id; results[#results + 1] = 0
  else
    redis.call('HSET', jk, 'name', name, 'data', ARGV[b + 2], 'ts', now, 'prio', prio,
      'seq', seq, 'delay', delay, 'att', ARGV[b + 5], 'bt', ARGV[b + 6], 'bd', ARGV[b + 7],
      'rc', ARGV[b + 8], 'rf', ARGV[b + 9], 'to', ARGV[b + 10], 'atm', 0, 'stc', 0, 'lc', 0)
    local failed_dep, pending = nil, 0
    local deps = ARGV[b + 11]
    if deps ~= '' then
      redis.call('HSET', jk, 'dependsOn', deps)
      for dep in string.gmatch(deps, '[^,]+') do
        local st = redis.call('HGET', prefix .. 'job:' .. dep, 'state')
        if st == 'failed' then
          failed_dep = failed_dep or dep
        elseif st ~= 'completed' then
          pending = pending + 1
          redis.call('SADD', prefix .. 'deps:' .. dep, id)
          redis.call('HSET', prefix .. 'job:' .. dep, 'hd', 1)
        end
      end
    end
    if failed_dep then
      local err = 'dependency ' .. failed_dep .. ' failed'
      redis.call('HSET', jk, 'state', 'failed', 'fon', now, 'err', err)
      redis.call('ZADD', KEYS[6], now, id)
      redis.call('LPUSH', KEYS[7], cjson.encode({ id = id, name = name, error = err,
        attempts = 0, failedAt = now }))
      redis.call('LTRIM', KEYS[7], 0, 9999)
      ev(id, name, 'failed', 0, 0, err)
    elseif pending > 0 then
      redis.call('HSET', jk, 'state', 'waiting-children', 'deps', pending)
      redis.call('ZADD', KEYS[5], now, id)
      ev(id, name, 'waiting-children', 0, 0, '')
    elseif delay > 0 then
      redis.call('HSET', jk, 'state', 'delayed', 'due', now + delay)
      redis.call('ZADD', KEYS[3], now + delay, id)
      ev(id, name, 'delayed', 0, now + delay, '')
      wake = true
    else
      redis.call('HSET', jk, 'state', 'waiting')
      redis.call('ZADD', KEYS[2], queue_wait_score(prio, seq), id)
      ev(id, name, 'waiting', 0, 0, '')
      wake = true
    end
    results[#results + 1] = id; results[#results + 1] = 1
  end
end

if wake then redis.call('ZADD', KEYS[4], 0, '1') end
return { results, events }
