/* stores/redis/redis_scripts.c — the Lua scripts the Redis backend runs
 * (EVALSHA, loaded again after a NOSCRIPT): one place for their text, read
 * by the connection code (redis_conn.c) that loads and runs them and named
 * by id (RD_S_*) by the callers in redis_store.c. */
#include "redis_int.h"

static const char *const scripts[RD_S_COUNT] = {
    [RD_S_HIST_APPEND] =
        "local x = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
        "if x <= tonumber(ARGV[4]) then redis.call('DEL', KEYS[1]) end\n"
        "redis.call('RPUSH', KEYS[1], ARGV[1])\n"
        "redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)\n"
        "redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
        "redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[3])\n"
        "return 1\n",
    [RD_S_HIST_GET] =
        "local x = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
        "if x <= tonumber(ARGV[1]) then return {} end\n"
        "return redis.call('LRANGE', KEYS[1], 0, -1)\n",
    /* token bucket; a caller whose clock lags keeps the newer timestamp */
    [RD_S_BUCKET] =
        "local b = redis.call('HMGET', KEYS[1], 'tk', 'ts')\n"
        "local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
        "local tokens, last = burst, now\n"
        "if b[1] then tokens = tonumber(b[1]); last = tonumber(b[2]) end\n"
        "if now > last then tokens = math.min(burst, tokens + (now - last) / 1000 * rate)\n"
        "else now = last end\n"
        "local ok, retry = 1, 0\n"
        "if tokens >= 1 then tokens = tokens - 1 else ok = 0; retry = (1 - tokens) / rate end\n"
        "redis.call('HMSET', KEYS[1], 'tk', string.format('%.17g', tokens),"
        " 'ts', string.format('%.17g', now))\n"
        "redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)\n"
        "return {ok, string.format('%.17g', retry)}\n",
    [RD_S_TOKEN_PUT] =
        "if redis.call('EXISTS', KEYS[1]) == 1 then return -2 end\n"
        "redis.call('HMSET', KEYS[1], 'f', ARGV[1], 'u', ARGV[2], 'x', ARGV[3], 'used', '0')\n"
        "redis.call('PEXPIRE', KEYS[1], ARGV[4])\n"
        "if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[4]) then\n"
        "  redis.call('SET', KEYS[2], '1', 'PX', ARGV[4]) end\n"
        "return 0\n",
    /* rotation: reuse of a used token revokes its family; the family key's
     * TTL is the lifetime of its newest token, and the revocation mark
     * lives that long so every token of the family stays refused */
    [RD_S_TOKEN_ROTATE] =
        "local t = redis.call('HMGET', KEYS[1], 'f', 'u', 'x', 'used')\n"
        "if not t[1] then return {-1} end\n"
        "local fk = ARGV[4] .. 'f:' .. t[1]\n"
        "local rk = ARGV[4] .. 'fr:' .. t[1]\n"
        "if redis.call('EXISTS', rk) == 1 then return {-13, t[1], t[2], '0'} end\n"
        "if t[4] == '1' then\n"
        "  local ttl = redis.call('PTTL', fk)\n"
        "  if ttl < 60000 then ttl = 60000 end\n"
        "  redis.call('SET', rk, '1', 'PX', ttl)\n"
        "  return {-13, t[1], t[2], '1'}\n"
        "end\n"
        "if tonumber(t[3]) <= tonumber(ARGV[2]) then return {-14, t[1], t[2], '0'} end\n"
        "if redis.call('EXISTS', KEYS[2]) == 1 then return {-2} end\n"
        "redis.call('HSET', KEYS[1], 'used', '1')\n"
        "redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
        "redis.call('HMSET', KEYS[2], 'f', t[1], 'u', t[2], 'x', ARGV[1], 'used', '0')\n"
        "redis.call('PEXPIRE', KEYS[2], ARGV[3])\n"
        "if redis.call('PTTL', fk) < tonumber(ARGV[3]) then\n"
        "  redis.call('SET', fk, '1', 'PX', ARGV[3]) end\n"
        "return {0, t[1], t[2], '0'}\n",
    [RD_S_TOKEN_REVOKE] =
        "local ttl = redis.call('PTTL', KEYS[1])\n"
        "if ttl < 0 then ttl = 86400000 elseif ttl < 60000 then ttl = 60000 end\n"
        "redis.call('SET', KEYS[2], '1', 'PX', ttl)\n"
        "return 0\n",
    /* request replay keys: a hash {s = 'p' (reserved) or 'd' (done),
     * x = logical expiry, r = result}.  The check and the reservation are
     * one script, so exactly one caller of many gets a key; Redis's own
     * TTL (the lease) frees the key of a holder that crashed */
    [RD_S_ONCE_BEGIN] =
        "local v = redis.call('HMGET', KEYS[1], 's', 'x', 'r')\n"
        "if v[1] and tonumber(v[2]) > tonumber(ARGV[1]) then\n"
        "  if v[1] == 'd' then return {1, v[3]} end\n"
        "  return {2}\n"
        "end\n"
        "redis.call('DEL', KEYS[1])\n"
        "redis.call('HMSET', KEYS[1], 's', 'p', 'x', ARGV[2])\n"
        "redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
        "return {0}\n",
    /* the first live result stays the answer */
    [RD_S_ONCE_FINISH] =
        "local v = redis.call('HMGET', KEYS[1], 's', 'x')\n"
        "if v[1] == 'd' and tonumber(v[2]) > tonumber(ARGV[2]) then return 1 end\n"
        "redis.call('DEL', KEYS[1])\n"
        "redis.call('HMSET', KEYS[1], 's', 'd', 'x', ARGV[3], 'r', ARGV[1])\n"
        "redis.call('PEXPIRE', KEYS[1], ARGV[4])\n"
        "return 0\n",
    /* a turn's save: the replay record, the session and its history
     * entry in one script.  ARGV[1] '1': the first answer (nothing
     * written when the key is live: {1, result} or {2}, busy); '0': the
     * holder's (the record kept unless a live result is there, {1};
     * session and history written either way) */
    [RD_S_SAVE_ONCE] =
        "local now = tonumber(ARGV[2])\n"
        "local v = redis.call('HMGET', KEYS[1], 's', 'x', 'r')\n"
        "local live = v[1] and tonumber(v[2]) > now\n"
        "local code = 0\n"
        "if ARGV[1] == '1' and live then\n"
        "  if v[1] == 'd' then return {1, v[3]} end\n"
        "  return {2}\n"
        "end\n"
        "if live and v[1] == 'd' then code = 1 else\n"
        "  redis.call('DEL', KEYS[1])\n"
        "  redis.call('HMSET', KEYS[1], 's', 'd', 'x', ARGV[4], 'r', ARGV[3])\n"
        "  redis.call('PEXPIRE', KEYS[1], ARGV[5])\n"
        "end\n"
        "redis.call('SET', KEYS[2], ARGV[6], 'PX', ARGV[7])\n"
        "local x = tonumber(redis.call('GET', KEYS[4]) or '0')\n"
        "if x <= now then redis.call('DEL', KEYS[3]) end\n"
        "redis.call('RPUSH', KEYS[3], ARGV[8])\n"
        "redis.call('LTRIM', KEYS[3], -tonumber(ARGV[9]), -1)\n"
        "redis.call('PEXPIRE', KEYS[3], ARGV[10])\n"
        "redis.call('SET', KEYS[4], ARGV[11], 'PX', ARGV[10])\n"
        "return {code}\n",
    /* what a turn reads first: the replay key's fields and the session
     * (nil as '': Lua drops a table's trailing nils) */
    [RD_S_SESSION_PEEK] =
        "local v = redis.call('HMGET', KEYS[1], 's', 'x', 'r')\n"
        "return {v[1] or '', v[2] or '0', v[3] or '', redis.call('GET', KEYS[2]) or ''}\n",
    /* two literals, one script (parenthesized: no missing comma) */
    [RD_S_ONCE_ABORT] =
        ("if redis.call('HGET', KEYS[1], 's') == 'p' then redis.call('DEL', KEYS[1]) end\n"
         "return 0\n"),
};

const char *rd__script_src(int id)
{
    return scripts[id];
}
