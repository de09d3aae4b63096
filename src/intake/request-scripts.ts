import { createHash } from 'node:crypto';

/**
 * The Lua scripts of the request store (src/intake/request-store.ts): every state change is one script,
 * so two processes racing on one request get one outcome.
 */

export const TRANSITION = `
local raw = redis.call('GET', KEYS[1])
if not raw then return {'missing'} end
local rec = cjson.decode(raw)
local allowed = cjson.decode(ARGV[1])
local ok = false
for _, s in ipairs(allowed) do if rec.state == s then ok = true end end
if not ok then return {'state', rec.state, raw} end
local patch = cjson.decode(ARGV[3])
for k, v in pairs(patch) do rec[k] = v end
local from = rec.state
rec.state = ARGV[2]
local out = cjson.encode(rec)
redis.call('SET', KEYS[1], out)
redis.call('SREM', ARGV[4] .. from, ARGV[5])
redis.call('SADD', ARGV[4] .. ARGV[2], ARGV[5])
redis.call('PUBLISH', ARGV[6], cjson.encode({id = ARGV[5], state = ARGV[2]}))
return {'ok', out, from}
`;

// ARGV: approverId, approverName ('' = none), atIso, nowMs, statePrefix, id, channel
export const APPROVE = `
local raw = redis.call('GET', KEYS[1])
if not raw then return {'missing'} end
local rec = cjson.decode(raw)
if rec.state ~= 'pending_approval' then return {'state', rec.state, raw} end
local function move(to)
  redis.call('SREM', ARGV[5] .. rec.state, ARGV[6])
  redis.call('SADD', ARGV[5] .. to, ARGV[6])
  rec.state = to
end
if rec.approvalExpiresAtMs and tonumber(ARGV[4]) >= tonumber(rec.approvalExpiresAtMs) then
  move('expired')
  rec.updatedAt = ARGV[3]
  local out = cjson.encode(rec)
  redis.call('SET', KEYS[1], out)
  redis.call('PUBLISH', ARGV[7], cjson.encode({id = ARGV[6], state = 'expired'}))
  return {'expired', out}
end
local approvals = rec.approvals
if type(approvals) ~= 'table' then approvals = {} end
for _, a in ipairs(approvals) do
  if a.by == ARGV[1] then return {'already', raw} end
end
local entry = {by = ARGV[1], at = ARGV[3]}
if ARGV[2] ~= '' then entry.name = ARGV[2] end
table.insert(approvals, entry)
rec.approvals = approvals
rec.updatedAt = ARGV[3]
local outcome = 'recorded'
if #approvals >= tonumber(rec.requiredApprovals) then
  move('approved')
  outcome = 'approved'
end
local out = cjson.encode(rec)
redis.call('SET', KEYS[1], out)
redis.call('PUBLISH', ARGV[7], cjson.encode({id = ARGV[6], state = rec.state}))
return {outcome, out}
`;

// One person's Cancel on a scheduled request. ARGV: voterId, voterName ('' = none), atIso, required,
// statePrefix, id, channel. Returns {'missing'} | {'state', raw} | {'already', raw} | {'recorded'|'cancelled', out}.
export const CANCEL_VOTE = `
local raw = redis.call('GET', KEYS[1])
if not raw then return {'missing'} end
local rec = cjson.decode(raw)
if rec.state ~= 'scheduled' and rec.state ~= 'pending_approval' then return {'state', raw} end
local votes = rec.cancelVotes
if type(votes) ~= 'table' then votes = {} end
for _, v in ipairs(votes) do
  if v.by == ARGV[1] then return {'already', raw} end
end
local entry = {by = ARGV[1], at = ARGV[3]}
if ARGV[2] ~= '' then entry.name = ARGV[2] end
table.insert(votes, entry)
rec.cancelVotes = votes
rec.updatedAt = ARGV[3]
local outcome = 'recorded'
if #votes >= tonumber(ARGV[4]) then
  -- A request still waiting for approval is denied; a scheduled one, cancelled.
  local to = 'cancelled'
  if rec.state == 'pending_approval' then to = 'denied' end
  redis.call('SREM', ARGV[5] .. rec.state, ARGV[6])
  redis.call('SADD', ARGV[5] .. to, ARGV[6])
  rec.state = to
  outcome = 'cancelled'
end
local out = cjson.encode(rec)
redis.call('SET', KEYS[1], out)
redis.call('PUBLISH', ARGV[7], cjson.encode({id = ARGV[6], state = rec.state}))
return {outcome, out}
`;

// KEYS: record, idempotency index. ARGV: record JSON, id, has key ('1'/'0'), index TTL (s).
export const CREATE = `
if ARGV[3] == '1' then
  local existing = redis.call('GET', KEYS[2])
  if existing then return {'dup', existing} end
end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return {'exists'} end
if ARGV[3] == '1' then redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[4]) end
return {'ok'}
`;

export interface CachedScript {
  text: string;
  sha: string;
}
const cached = (text: string): CachedScript => ({ text, sha: createHash('sha1').update(text).digest('hex') });

/**
 * Several steps at once (group commit). For entry i: KEYS[2i-1] done set, KEYS[2i] revoked set;
 * ARGV: per entry, the step key, the number of token ids, then those ids. Returns {added, count} pairs.
 */
export const COMPLETE_STEPS = cached(`
local out = {}
local a = 1
for k = 1, #KEYS, 2 do
  local step = ARGV[a]
  local n = tonumber(ARGV[a + 1])
  for i = a + 2, a + 1 + n, 1000 do
    redis.call('SADD', KEYS[k + 1], unpack(ARGV, i, math.min(i + 999, a + 1 + n)))
  end
  table.insert(out, redis.call('SADD', KEYS[k], step))
  table.insert(out, redis.call('SCARD', KEYS[k]))
  a = a + 2 + n
end
return out
`);

/**
 * A step that finally failed is settled too (it counts towards the total, so the request finalizes) and
 * remembered as failed. KEYS: done, failed. ARGV: step key. Returns [settled now (1/0), settled count].
 */
export const FAIL_STEP = cached(`
local isNew = redis.call('SADD', KEYS[1], ARGV[1])
if isNew == 1 then redis.call('SADD', KEYS[2], ARGV[1]) end
return {isNew, redis.call('SCARD', KEYS[1])}
`);

/**
 * The recorded scope's tokens not yet counted as revoked, as flat [tokenId, userId, …]: all the audit's
 * reconciliation needs, without sending a request's whole scope and revoked set to Node when (as almost
 * always) every token was already audited. KEYS: scope hash, revoked set.
 */
export const NOT_REVOKED_IN_SCOPE = cached(`
local out = {}
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
  if redis.call('SISMEMBER', KEYS[2], flat[i]) == 0 then
    out[#out + 1] = flat[i]
    out[#out + 1] = flat[i + 1]
  end
end
return out
`);
