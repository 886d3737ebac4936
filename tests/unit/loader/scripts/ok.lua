function run(ctx)
  return "ok"
end
