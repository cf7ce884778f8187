-- Settles an attempt that did not fail: the address's counter (KEYS[1]) takes it back; the
-- account's counter (KEYS[2], when there is an account) takes it back too (ARGV[1] 'refund')
-- or is forgotten (ARGV[1] 'clear'). Counters never go below zero and are never created.
local function refund(key)
  local failures = tonumber(redis.call('GET', key) or '0')
  if failures > 0 then redis.call('DECR', key) end
end
refund(KEYS[1])
if KEYS[2] then
  if ARGV[1] == 'clear' then redis.call('DEL', KEYS[2]) else refund(KEYS[2]) end
end
return 0
