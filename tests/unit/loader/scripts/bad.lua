-- a rule with a typo
function run(ctx)
  if ctx.intent.name == "x" then
    return "done"
  ende
end
