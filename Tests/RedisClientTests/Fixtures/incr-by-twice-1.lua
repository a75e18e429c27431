-- Test fixture: adds ARGV[1] to KEYS[1] twice, through two helpers that both include `add`.
-- KEYS[1] counter
-- ARGV[1] amount
-- @include "twice"
-- @include "add"
return twice(KEYS[1], tonumber(ARGV[1]))
