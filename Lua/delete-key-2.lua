--[[
delete-key-2: delete an API key, unless it is the last admin key (issue "Hardening", finding 5).
One script, so two replicas deleting the last two admin keys at once cannot both succeed.

<a> is the auth keys' prefix `<prefix>:{<prefix>:auth}:`, e.g. `taskd:{taskd:auth}:`.

KEYS[1]  <a>key:<keyId>   hash  the key's record (role, name, salt, secretHash, createdAt)
KEYS[2]  <a>keys          set   every key id

ARGV[1]  now     ms since epoch (unused; every script takes it)
ARGV[2]  keyId   the id in KEYS[1]

The other admins are counted by reading each listed key's role: `<a>key:<id>` for every id in
KEYS[2], the same hash tag as KEYS[1] and KEYS[2] (so the same node of a cluster), not named in
KEYS because the set says which they are. Key sets are small (people make them).

Returns
  {0}               deleted
  {1}               NOT_FOUND: no such key (an id left in KEYS[2] without its record is removed)
  {10}              LAST_ADMIN_KEY: it is the only admin key; nothing written
  {7, argument}     BAD_ARGUMENT
]]
local keyId = ARGV[2]
if not keyId or keyId == '' then return {7, 'keyId'} end
local base = string.sub(KEYS[2], 1, -5)
if string.sub(KEYS[2], -4) ~= 'keys' or KEYS[1] ~= base .. 'key:' .. keyId then return {7, 'KEYS'} end

local role = redis.call('HGET', KEYS[1], 'role')
if not role then
  redis.call('SREM', KEYS[2], keyId)
  return {1}
end
if role == 'admin' then
  local others = 0
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    if id ~= keyId and redis.call('HGET', base .. 'key:' .. id, 'role') == 'admin' then
      others = others + 1
      break
    end
  end
  if others == 0 then return {10} end
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], keyId)
return {0}
