-- Rules used by tests/unit/test_exec.c.
function tag(ctx)
  ctx.vars.tagged = "yes"
  ctx.vars.seen_intent = ctx.intent.name
end

function boom(ctx)
  local t = nil
  return t.field   -- line 9: indexing nil
end

function spin(ctx)
  while true do end
end

function finish(ctx)
  ctx.reply = { text = "finished by Lua", cards = {}, suggestions = {} }
  return "done"
end
