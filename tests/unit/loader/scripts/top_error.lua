-- Fails when the file runs at load: the rules in it must not go live.
version = 1
local limits = nil
on("cart.add", function(action, ctx)
  if action.qty > limits.max then return deny("too many") end
end)
local max = limits.max
