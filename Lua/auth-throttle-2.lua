--[[
auth-throttle-2: count failed authentications by client address and by key id, across every replica,
and say whether either has failed too often in the current window (issue "Hardening", finding 6).

<a> is the auth keys' prefix `<prefix>:{<prefix>:auth}:`, e.g. `taskd:{taskd:auth}:`, the hash tag
of the API keys, so a cluster keeps all of them on one node.

KEYS[1]  <a>fail:source:<address>  string  failures from this client address in the current window
KEYS[2]  <a>fail:key:<keyId>       string  failures naming this key id in the current window
                                           (`<a>fail:key:-` for credentials without a valid key id),
         or <a>fail:session:<address>      failures of session cookies from this address (a cookie
                                           names no key id, so it never counts on a shared counter)

ARGV[1]  now           ms since epoch (every script takes it; the window is the keys' PEXPIRE)
ARGV[2]  mode          "check": only read; "fail": count one failure on both, then read
ARGV[3]  windowMs      length of a window, from a counter's first failure (> 0)
ARGV[4]  sourceLimit   failures per window from one address before it is refused (> 0)
ARGV[5]  keyLimit      failures per window naming one key id before it is refused (> 0)

A counter at or above its limit blocks until its window ends: then it expires, and counting starts
again. Checked before a credential is verified, so a blocked address learns nothing, not even from
a right secret.

Returns
  {0, retryAfterMs}   0 = neither is blocked; else ms until the later blocking window ends
  {7, argument}       BAD_ARGUMENT
]]
-- @include "argInteger"

local mode = ARGV[2]
local windowMs, sourceLimit, keyLimit = argInteger(ARGV[3]), argInteger(ARGV[4]), argInteger(ARGV[5])
if mode ~= 'check' and mode ~= 'fail' then return {7, 'mode'} end
if not windowMs or windowMs < 1 then return {7, 'windowMs'} end
if not sourceLimit or sourceLimit < 1 then return {7, 'sourceLimit'} end
if not keyLimit or keyLimit < 1 then return {7, 'keyLimit'} end

local counts = {}
if mode == 'fail' then
  for i = 1, 2 do
    counts[i] = redis.call('INCR', KEYS[i])
    if counts[i] == 1 then redis.call('PEXPIRE', KEYS[i], windowMs) end
  end
else
  local values = {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}
  for i = 1, 2 do counts[i] = tonumber(values[i] or '0') or 0 end
end

local retry = 0
local limits = {sourceLimit, keyLimit}
for i = 1, 2 do
  if counts[i] >= limits[i] then
    local left = redis.call('PTTL', KEYS[i])
    if left > retry then retry = left end
  end
end
return {0, retry}
