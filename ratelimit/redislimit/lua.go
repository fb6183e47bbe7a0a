// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package redislimit

import "github.com/redis/go-redis/v9"

// The Lua scripts run inside Redis, atomically: no other command runs
// between their reads and writes. Lua 5.1 numbers are doubles, exact for
// integers below 2^53, while a bucket's level in units reaches 2^62. So a
// level is held as two numbers, hi tokens and lo units (level = hi*U + lo,
// 0 <= lo < U), and the refill is computed in parts that stay below 2^53:
// the results are the same integers as ratelimit.Memory's int64 ones.
//
// A bucket is stored as one string, "hi lo last rate burst": last is the
// time (µs since the epoch) its level is as of, rate and burst the limit it
// was refilled with. A missing key is a full bucket.
//
// ARGV[1] is "" (read the clock with TIME) or, in this package's tests
// only, a time in µs that replaces it; ARGV[2] is a number of ms added to
// every TTL (0, except in those tests, whose clock does not move with
// Redis's).

// luaCommon holds the constants and functions both bucket scripts use.
const luaCommon = `
if redis.replicate_commands then redis.replicate_commands() end -- Redis < 5: TIME before a write

local U = 60000000          -- units per token: µs per minute (ratelimit's unitsPerToken)
local MAXT = 68719476736    -- ratelimit.MaxTokens: the most debt a bucket holds

-- divmod returns q and r with x = q*d + r and 0 <= r < d, for integers
-- x >= 0 and d > 0 below 2^53, exactly.
local function divmod(x, d)
  local q = math.floor(x / d)
  local r = x - q * d
  if r < 0 then
    q, r = q - 1, r + d
  elseif r >= d then
    q, r = q + 1, r - d
  end
  return q, r
end

local function now_us()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- refill adds what the time since b.last brings, rate units per µs, up to
-- the capacity (burst tokens): ratelimit's bucket.refill.
local function refill(b, now)
  local us = now - b.last
  if us <= 0 then return end
  local missing = b.burst - b.hi -- tokens, rounded up
  if missing <= 0 then
    b.hi, b.lo, b.last = b.burst, 0, now
    return
  end
  -- us*rate = (us1*rate + us0*r1 + p1)*U + p0, every term below 2^53
  local us1, us0 = divmod(us, U)
  if us1 * b.rate >= missing then
    b.hi, b.lo, b.last = b.burst, 0, now
    return
  end
  local r1, r0 = divmod(b.rate, U)
  local p1, p0 = divmod(us0 * r0, U)
  local hi, lo = b.hi + us1 * b.rate + us0 * r1 + p1, b.lo + p0
  if lo >= U then hi, lo = hi + 1, lo - U end
  if hi >= b.burst then hi, lo = b.burst, 0 end
  b.hi, b.lo, b.last = hi, lo, now
end

-- setlimit applies the current limit: the level is capped at the new burst.
local function setlimit(b, rate, burst)
  if b.rate == rate and b.burst == burst then return end
  b.rate, b.burst, b.changed = rate, burst, true
  if b.hi >= burst then b.hi, b.lo = burst, 0 end
end

-- load returns key's bucket brought up to now with the current limit; a
-- missing (or unreadable) key is a full bucket, or nil if not create.
local function load(key, now, rate, burst, create)
  local v = redis.call('GET', key)
  if v then
    local hi, lo, last, r, bu = string.match(v, '^(%-?%d+) (%d+) (%d+) (%d+) (%d+)$')
    if hi and tonumber(r) > 0 then
      local b = {hi = tonumber(hi), lo = tonumber(lo), last = tonumber(last), rate = tonumber(r), burst = tonumber(bu)}
      refill(b, now)
      setlimit(b, rate, burst)
      return b
    end
  end
  if not create then return nil end
  return {hi = burst, lo = 0, last = now, rate = rate, burst = burst}
end

-- take removes n tokens, bounding the debt at MAXT.
local function take(b, n)
  b.hi = b.hi - n
  if b.hi < -MAXT then b.hi, b.lo = -MAXT, 0 end
end

-- save stores b, with a TTL of the time it needs to refill, rounded up,
-- plus a relative margin for the rounding of doubles and 2ms because Redis
-- counts a TTL from its time at the start of the command, up to 1ms before
-- TIME's: the key is gone once, and not before, the bucket would be full.
-- A full bucket is no key.
local function save(key, b, now, slack)
  if b.hi >= b.burst then
    redis.call('DEL', key)
    return
  end
  local us = ((b.burst - b.hi) * U - b.lo) / b.rate + math.max(b.last - now, 0)
  local ms = math.ceil(us / 1000 * (1 + 1e-9)) + 2 + slack
  redis.call('SET', key, string.format('%.0f %.0f %.0f %.0f %.0f', b.hi, b.lo, b.last, b.rate, b.burst),
    'PX', string.format('%.0f', ms))
end
`

// allowScript takes from every bucket in KEYS, or from none: take i is
// ARGV[3i], ARGV[3i+1], ARGV[3i+2] = n, rate, burst (clamped, rate > 0).
// It returns {0, hi, lo} with the level of the last take's bucket when all
// were allowed, else {i, hi, lo} with the level of the bucket of the first
// refused take i (1-based), which Go turns into a Decision; then, for
// every take in order, hi and lo of its bucket as the call left it (after
// every take, or as before the call when one was refused), for AllowEach.
var allowScript = redis.NewScript(luaCommon + `
-- levels appends to out the level of every take's bucket in buckets; a
-- bucket not loaded yet (after a refused take) is read, not stored: a
-- read changes nothing, as in Memory; a missing key is full.
local function levels(out, buckets, now)
  for j = 1, #KEYS do
    local b = buckets[KEYS[j]]
    if not b then
      local burst = tonumber(ARGV[3 * j + 2])
      b = load(KEYS[j], now, tonumber(ARGV[3 * j + 1]), burst, false) or {hi = burst, lo = 0}
      buckets[KEYS[j]] = b
    end
    out[#out + 1] = b.hi
    out[#out + 1] = b.lo
  end
  return out
end

local now, slack = now_us(), tonumber(ARGV[2])
local buckets, order, before = {}, {}, {}
local last
for i = 1, #KEYS do
  local key = KEYS[i]
  local n, rate, burst = tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1]), tonumber(ARGV[3 * i + 2])
  local b = buckets[key]
  if b then
    setlimit(b, rate, burst)
  else
    b = load(key, now, rate, burst, true)
    buckets[key], order[#order + 1], before[key] = b, key, {b.hi, b.lo}
  end
  if b.hi < math.min(n, burst) then
    -- Refused: nothing is taken. A bucket stored with another limit is
    -- stored with the new one (refilled to now with the old), as Memory
    -- does; otherwise refilling later comes to the same.
    local hi, lo = b.hi, b.lo
    for _, k in ipairs(order) do
      local c = buckets[k]
      c.hi, c.lo = before[k][1], before[k][2]
      if c.changed then save(k, c, now, slack) end
    end
    return levels({i, hi, lo}, buckets, now)
  end
  take(b, n)
  last = b
end
for _, k in ipairs(order) do save(k, buckets[k], now, slack) end
return levels({0, last.hi, last.lo}, buckets, now)
`)

// adjustScript takes ARGV[3] tokens from the bucket KEYS[1] (a negative
// number gives them back, up to the burst; to a missing key, a full
// bucket, it gives nothing); ARGV[4] and ARGV[5] are the rate and burst.
var adjustScript = redis.NewScript(luaCommon + `
local now, slack = now_us(), tonumber(ARGV[2])
local delta, rate, burst = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local b = load(KEYS[1], now, rate, burst, delta > 0)
if not b then return 0 end
if delta > 0 then
  take(b, delta)
else
  b.hi = b.hi - delta
  if b.hi >= b.burst then b.hi, b.lo = b.burst, 0 end
end
save(KEYS[1], b, now, slack)
return 0
`)

// addSpendScript adds ARGV[1] to the day total KEYS[1] and the month total
// KEYS[2], sets their TTLs to ARGV[2] and ARGV[3] seconds, and returns the
// new totals.
var addSpendScript = redis.NewScript(`
local day = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
local month = redis.call('INCRBYFLOAT', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return {day, month}
`)
