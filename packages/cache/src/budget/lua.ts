/**
 * The fleet budget's Lua scripts. Every key of one budget shares the hash tag `{<prefix>:<name>}`,
 * so a budget lives in one slot and its scripts are legal on Redis Cluster. KEYS[1] is the key
 * prefix itself (never read or written): the scripts build the budget's keys from it, and Redis
 * routes the call by it. The clock is Redis' own (`TIME`): expiries never depend on a container's.
 *
 * The keys, after the prefix:
 * - `exp`    ZSET slot -> lease expiry (ms). Its size is the slots taken: a lapsed lease keeps its
 *            seat (its zombie may still be connected) until a claimer takes it over;
 * - `used`   ZSET slot -> its last use (grant or renewal): with no free seat, a lease unused for
 *            `claimIdleMs` may be claimed too;
 * - `tok`    HASH slot -> holder's token; `tid` HASH slot -> MySQL thread id (once bound);
 * - `claims` ZSET slot -> expiry, for slots claimed from a lapsed lease and not bound yet: at most
 *            `claimCap` at once, so the claimers always fit in the headroom before they kill;
 * - `handing` ZSET slot -> expiry, for seats whose holder is closing its connection to hand over;
 * - `queue`  ZSET waiter -> arrival (ms × 1000 + a sequence number: FIFO, and how long it has
 *            waited); `alive` ZSET waiter -> when it counts as gone;
 * - `wake:<waiter>` LIST: the waiter's blocking pop is woken by a push to it;
 * - `limit`  the database's limit (no expiry); `fresh` present while the limit is recent;
 *            `scout` the slot whose holder reads the limit while none is known.
 */

const PRELUDE = `
local p = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function prune()
  local gone = redis.call('ZRANGEBYSCORE', p .. 'alive', '-inf', now)
  for _, w in ipairs(gone) do
    redis.call('ZREM', p .. 'queue', w)
    redis.call('ZREM', p .. 'alive', w)
    redis.call('DEL', p .. 'wake:' .. w)
  end
  redis.call('ZREMRANGEBYSCORE', p .. 'claims', '-inf', now)
  redis.call('ZREMRANGEBYSCORE', p .. 'handing', '-inf', now)
end
local function wake()
  local head = redis.call('ZRANGE', p .. 'queue', 0, 0)[1]
  if head then
    redis.call('LPUSH', p .. 'wake:' .. head, '1')
    redis.call('LTRIM', p .. 'wake:' .. head, 0, 0)
    redis.call('PEXPIRE', p .. 'wake:' .. head, 60000)
  end
end
-- Frees a seat: its lease, its holder's token and thread, any claim or hand-over of it, the scout's role.
local function free(slot)
  redis.call('ZREM', p .. 'exp', slot)
  redis.call('ZREM', p .. 'used', slot)
  redis.call('HDEL', p .. 'tok', slot)
  redis.call('HDEL', p .. 'tid', slot)
  redis.call('ZREM', p .. 'claims', slot)
  redis.call('ZREM', p .. 'handing', slot)
  if redis.call('GET', p .. 'scout') == slot then redis.call('DEL', p .. 'scout') end
end
-- Every key of the budget lives a day past its last use (fresh, scout and wake lists have their own
-- shorter TTLs): a fleet gone quiet leaves nothing behind, and a day outlasts any lease.
local function touch()
  for _, k in ipairs({'exp', 'used', 'tok', 'tid', 'claims', 'handing', 'queue', 'alive', 'limit', 'slots', 'arrivals'}) do
    redis.call('PEXPIRE', p .. k, 86400000)
  end
end
prune()
`;

/**
 * ARGV = waiter id, token, lease TTL ms, share, fixed limit ('' = scout it), alive ms, limit
 * freshness ms, claim-idle ms (0 = off). Grants a slot to the waiter if it is at the head of the
 * queue (or the queue is empty): a free seat, else the longest-lapsed lease, else the lease
 * unused the longest past claim-idle (its thread id is the zombie). Otherwise
 * queues the waiter (keeping its place).
 * Returns {1, slot, zombie thread id or '', needs limit 0/1, waiting} or {0, ms until the next lapse
 * or -1, waiting}.
 */
export const ACQUIRE = `${PRELUDE}
local waiter, token, ttl, share, fixed, aliveMs, freshMs, idleMs = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local limit = tonumber(fixed ~= '' and fixed or redis.call('GET', p .. 'limit'))
local taken = redis.call('ZCARD', p .. 'exp')
-- When the next live lease is due to lapse (a lapsed one that cannot be claimed yet waits for a bind's wake-up).
local function nextLapse()
  local first = redis.call('ZRANGEBYSCORE', p .. 'exp', '(' .. now, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  local at = first[2] and tonumber(first[2]) or nil
  if idleMs > 0 then
    -- Or when the next lease reaches claim-idle.
    local idle = redis.call('ZRANGEBYSCORE', p .. 'used', '(' .. (now - idleMs), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    if idle[2] and (at == nil or tonumber(idle[2]) + idleMs < at) then at = tonumber(idle[2]) + idleMs end
  end
  if at == nil then return -1 end
  return at - now
end
local function wait()
  if redis.call('ZSCORE', p .. 'queue', waiter) == false then
    -- Arrival order, and the arrival time (ms) a hand-over reads: now * 1000 + a sequence number.
    redis.call('ZADD', p .. 'queue', now * 1000 + redis.call('INCR', p .. 'arrivals') % 1000, waiter)
  end
  redis.call('ZADD', p .. 'alive', now + aliveMs, waiter)
  touch()
  return {0, nextLapse(), redis.call('ZCARD', p .. 'queue')}
end
local head = redis.call('ZRANGE', p .. 'queue', 0, 0)[1]
if head and head ~= waiter then return wait() end
local slot, zombie, needsLimit = nil, '', 0
if limit == nil then
  local scout = redis.call('GET', p .. 'scout')
  if scout and redis.call('HGET', p .. 'tok', scout) then return wait() end
  slot = 's' .. redis.call('INCR', p .. 'slots')
  redis.call('SET', p .. 'scout', slot, 'PX', ttl)
  needsLimit = 1
else
  local capacity = math.max(1, math.floor(limit * share))
  if taken < capacity then
    slot = 's' .. redis.call('INCR', p .. 'slots')
  else
    local lapsed = redis.call('ZRANGEBYSCORE', p .. 'exp', '-inf', now, 'LIMIT', 0, 1)[1]
    if lapsed == nil and idleMs > 0 then
      -- No free seat: a lease unused for idleMs may be claimed too, oldest use first (not one
      -- being handed over). Its holder checks its lease before its next statement.
      for _, candidate in ipairs(redis.call('ZRANGEBYSCORE', p .. 'used', '-inf', now - idleMs, 'LIMIT', 0, 8)) do
        if not redis.call('ZSCORE', p .. 'handing', candidate) then
          lapsed = candidate
          break
        end
      end
    end
    local claimCap = math.max(1, math.floor((limit - capacity) / 2))
    if lapsed == nil or redis.call('ZCARD', p .. 'claims') >= claimCap then return wait() end
    slot = lapsed
    zombie = redis.call('HGET', p .. 'tid', slot) or ''
    redis.call('HDEL', p .. 'tid', slot)
    if zombie ~= '' then redis.call('ZADD', p .. 'claims', now + ttl, slot) end
  end
  if fixed == '' and redis.call('EXISTS', p .. 'fresh') == 0 and redis.call('SET', p .. 'fresh', '1', 'PX', freshMs, 'NX') then needsLimit = 1 end
end
redis.call('ZADD', p .. 'exp', now + ttl, slot)
redis.call('ZADD', p .. 'used', now, slot)
redis.call('HSET', p .. 'tok', slot, token)
redis.call('ZREM', p .. 'queue', waiter)
redis.call('ZREM', p .. 'alive', waiter)
redis.call('DEL', p .. 'wake:' .. waiter)
-- The next waiter may fit too (several seats came free at once): let it try.
wake()
touch()
return {1, slot, zombie, needsLimit, redis.call('ZCARD', p .. 'queue')}`;

/**
 * ARGV = slot, token, lease TTL ms, thread id ('' = a renewal only). Extends a lease still held
 * with the token — also one that lapsed unclaimed (nobody took its seat, so nobody kills its
 * thread) — and binds it to the thread. Returns {1 held / 0 not, waiting}.
 */
export const RENEW = `${PRELUDE}
local slot, token, ttl, thread = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local waiting = redis.call('ZCARD', p .. 'queue')
if redis.call('HGET', p .. 'tok', slot) ~= token then return {0, waiting} end
redis.call('ZADD', p .. 'exp', now + ttl, slot)
redis.call('ZADD', p .. 'used', now, slot)
if thread ~= '' then
  redis.call('HSET', p .. 'tid', slot, thread)
  -- A bound claim frees a place among the claimers: the head waiter may claim the next lapsed lease.
  if redis.call('ZREM', p .. 'claims', slot) == 1 then wake() end
end
touch()
return {1, waiting}`;

/** ARGV = slot, token. Frees a seat still held with the token, and wakes the head waiter. */
export const RELEASE = `${PRELUDE}
local slot, token = ARGV[1], ARGV[2]
if redis.call('HGET', p .. 'tok', slot) == token then free(slot) end
wake()
touch()
return 0`;

/**
 * ARGV = slot, token, grace ms, share, fixed limit ('' = the published one). At a holder's `end()`:
 * decides whether it gives its seat up — when waiters that have waited at least the grace
 * outnumber the seats already free or being handed over for them, so no two holders give a seat
 * up for the same waiter. The seat is marked as being handed over; the holder closes its
 * connection, then releases it (RELEASE), which wakes the head waiter: the server never sees the
 * waiter's connection before the holder's is gone. When waiters will need the seat but none is
 * past the grace yet, the holder keeps it, on a lease shortened to twice the grace: frozen now, it
 * loses the seat (and its thread, to a claimer) soon.
 * Returns {1, 0} when the holder must close its connection (handing over, or no longer its
 * lease), {0, remaining lease ms} when it keeps it on a shortened lease, {0, -1} when it keeps it.
 */
export const HAND_OVER = `${PRELUDE}
local slot, token, grace, share, fixed = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
if redis.call('HGET', p .. 'tok', slot) ~= token or redis.call('ZSCORE', p .. 'handing', slot) then return {1, 0} end
local limit = tonumber(fixed ~= '' and fixed or redis.call('GET', p .. 'limit'))
if limit == nil then return {0, -1} end
local capacity = math.max(1, math.floor(limit * share))
local spare = math.max(0, capacity - redis.call('ZCARD', p .. 'exp')) + redis.call('ZCARD', p .. 'handing')
local overdue = redis.call('ZCOUNT', p .. 'queue', '-inf', (now - grace) * 1000 + 999)
if overdue > spare then
  -- The seat stays taken until the holder has closed its connection and released it.
  redis.call('ZADD', p .. 'handing', now + 10000, slot)
  touch()
  return {1, 0}
end
if redis.call('ZCARD', p .. 'queue') <= spare then return {0, -1} end
local shortened = now + 2 * grace
if shortened < tonumber(redis.call('ZSCORE', p .. 'exp', slot)) then
  redis.call('ZADD', p .. 'exp', shortened, slot)
  -- The head waiter's next lapse moved closer: it re-reads when to wake.
  wake()
end
touch()
return {0, tonumber(redis.call('ZSCORE', p .. 'exp', slot)) - now}`;

/** ARGV = waiter id. A waiter that gives up (its deadline passed) leaves the queue, and the next one is woken. */
export const LEAVE = `${PRELUDE}
local waiter = ARGV[1]
redis.call('ZREM', p .. 'queue', waiter)
redis.call('ZREM', p .. 'alive', waiter)
redis.call('DEL', p .. 'wake:' .. waiter)
wake()
touch()
return 0`;

/**
 * ARGV = waiter id, token. An acquire whose reply never came (it timed out on the client) may still
 * have run: it left a waiter in the queue, or a seat — perhaps the scout's — held with a token
 * nobody will renew or release, which would keep every waiter behind it waiting for the lease to
 * lapse. Sent after it on the same connection, this undoes whichever it did.
 */
export const ABANDON = `${PRELUDE}
local waiter, token = ARGV[1], ARGV[2]
redis.call('ZREM', p .. 'queue', waiter)
redis.call('ZREM', p .. 'alive', waiter)
redis.call('DEL', p .. 'wake:' .. waiter)
local held = redis.call('HGETALL', p .. 'tok')
for i = 1, #held, 2 do
  if held[i + 1] == token then free(held[i]) end
end
wake()
touch()
return 0`;

/** ARGV = limit, freshness ms. Records the database's limit as a scout read it, and wakes the head waiter. */
export const PUBLISH_LIMIT = `${PRELUDE}
redis.call('SET', p .. 'limit', ARGV[1])
redis.call('SET', p .. 'fresh', '1', 'PX', tonumber(ARGV[2]))
redis.call('DEL', p .. 'scout')
wake()
touch()
return 0`;

/** No ARGV. The budget as the store sees it: {seats taken, lapsed leases, waiting, limit or -1}. */
export const INSPECT = `${PRELUDE}
local lapsed = redis.call('ZCOUNT', p .. 'exp', '-inf', now)
return {redis.call('ZCARD', p .. 'exp'), lapsed, redis.call('ZCARD', p .. 'queue'), tonumber(redis.call('GET', p .. 'limit') or '-1')}`;
