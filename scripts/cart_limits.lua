-- Cart limits and vetoes: a rule that returns deny("...") stops the
-- action, and the shopper sees the message. A veto that fails (an error,
-- its budget) denies too; see docs/lua.md for fail_open.
version = 3

local MAX_PER_LINE = 10

on("cart.add", function(action, ctx)
  if action.newQty > MAX_PER_LINE then
    return deny("at most " .. MAX_PER_LINE .. " of the same item per order")
  end
end, "max-10-per-line")

on("cart.set", function(action, ctx)
  if action.newQty > MAX_PER_LINE then
    return deny("at most " .. MAX_PER_LINE .. " of the same item per order")
  end
end, "max-10-per-line-set")

-- Motorcycles are not sold online: our sales team arranges each one (the
-- knowledge file says the shop has no showroom or stores).
on("cart.add", function(action, ctx)
  if action.category == "motorcycle" then
    return deny("motorcycles are not sold online: our sales team arranges each one, so ask to talk to a person")
  end
end, "motorcycles-sales-team-only")

-- No orders over $20,000 through the chat.
on("order.create", function(action, ctx)
  if action.total and action.total > 20000 then
    return deny("orders over $20,000 need a call with our sales team")
  end
end, "orders-over-20000")
