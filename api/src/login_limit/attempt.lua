-- One login attempt, atomically: refused while a counter is at its limit, else counted.
-- KEYS[1]: the address's counter; KEYS[2], when there is an account: the account's counter.
-- ARGV[1]: the window in milliseconds; ARGV[2]: the address's limit; ARGV[3]: the account's.
-- Returns 0 once the attempt is counted, or the milliseconds until the longer lock ends.
local wait = 0
for i, key in ipairs(KEYS) do
  local failures = tonumber(redis.call('GET', key) or '0')
  if failures >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('PTTL', key)
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  -- The first failure opens the window; a counter without an expiry never lives on.
  if redis.call('INCR', key) == 1 or redis.call('PTTL', key) < 0 then
    redis.call('PEXPIRE', key, ARGV[1])
  end
end
return 0
