-- Ranking boosts for search and recommendations: multiply a product's
-- relevance. Boosts re-order what the catalog found; they never add
-- products that do not match.
version = 1

-- The shopper's favourite brand (long-term memory) comes first.
boost("search", function(product, ctx)
  local fav = ctx.memory and ctx.memory.preferences and ctx.memory.preferences.brand
  if fav and product.brand == fav then return 1.5 end
end)

-- Well-rated products rank a little higher; out-of-stock ones lower.
boost("search", function(product, ctx)
  local m = 1
  if product.rating and product.rating >= 4.5 then m = m * 1.1 end
  if product.stock == 0 then m = m * 0.5 end
  return m
end)

boost("recommend", function(product, ctx)
  if product.stock == 0 then return 0.1 end
end)
