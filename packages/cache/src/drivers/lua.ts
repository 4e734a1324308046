/**
 * The Lua scripts. Each touches only keys passed in KEYS, and the cache passes only keys of one
 * slot (one entity's value and lease keys; on a single Redis, tag keys too), so they are legal on
 * Redis Cluster.
 */

/** KEYS = lease keys; ARGV = token, ttlMs. Returns 1 per lease taken, 0 per lease held by someone. */
export const ACQUIRE_LEASES = `
local out = {}
for i = 1, #KEYS do
  if redis.call('SET', KEYS[i], ARGV[1], 'NX', 'PX', ARGV[2]) then out[i] = 1 else out[i] = 0 end
end
return out`;

/** KEYS = lease keys; ARGV = token. Deletes the leases still held with the token. */
export const RELEASE_LEASES = `
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
return 0`;

/**
 * KEYS = for each request: value key, lease key, then its tag keys.
 * ARGV = token, count, then for each request: ttlMs, value, tag count, expected token per tag ('' = absent).
 * A value is stored only while its lease holds the token and every tag still holds its expected
 * token. Either way a lease held with the token is released, so the next reader loads at once
 * instead of waiting for a lease nobody will fill. Returns 1 (stored) or 0 (rejected) per request.
 */
export const FILL = `
local token = ARGV[1]
local n = tonumber(ARGV[2])
local a = 3
local k = 1
local out = {}
for i = 1, n do
  local key, lease = KEYS[k], KEYS[k + 1]
  k = k + 2
  local ttl, value, tags = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  a = a + 3
  local holds = redis.call('GET', lease) == token
  local ok = holds
  for t = 1, tags do
    local current = redis.call('GET', KEYS[k]) or ''
    if current ~= ARGV[a] then ok = false end
    k = k + 1
    a = a + 1
  end
  if ok then
    redis.call('SET', key, value, 'PX', ttl)
    out[i] = 1
  else
    out[i] = 0
  end
  if holds then redis.call('DEL', lease) end
end
return out`;

/**
 * KEYS = tag keys; ARGV = token, ttlMs. Gives every absent tag key the token (with the TTL) and
 * returns each key's token, in order. A reader's snapshot of a tag is then never "absent": a tag
 * key that a restart, a FLUSHALL or an eviction removed after an invalidation cannot make a fill
 * that expected "absent" look current again.
 */
export const INIT_TAGS = `
local out = {}
for i = 1, #KEYS do
  local current = redis.call('GET', KEYS[i])
  if not current then
    redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
    current = ARGV[1]
  end
  out[i] = current
end
return out`;

/**
 * KEYS = one tag key. Returns its token (nil where absent). A GET, as a script: a script is never
 * sent to a replica, so a Cluster client that reads from replicas (`scaleReads`) still reads tag
 * tokens from the masters, where every invalidation that returned already is.
 */
export const READ_TAG = `return redis.call('GET', KEYS[1])`;
