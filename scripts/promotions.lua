-- Promotions and prices. Each price change carries its rule id and this
-- file's version into the reply, the cart, the order and the audit
-- trail, so support can explain any price. See docs/lua.md.
version = 3

-- 10% off all men's shoes this month.
price("mens-shoes-10", function(product, ctx)
  if product.category == "mens-shoes" then
    return { percent = 10, reason = "10% off men's shoes" }
  end
end)

-- Fragrances: $5 off anything over $50.
price("fragrance-5-off", function(product, ctx)
  if product.category == "fragrances" and product.price > 50 then
    return { amount = 5, reason = "$5 off fragrances over $50" }
  end
end)

-- Codes the shopper types in the chat ("apply code SAVE10").
promo("SAVE10", function(cart, ctx)
  if cart.subtotal >= 50 then
    return { percent = 10, reason = "SAVE10: 10% off orders over $50" }
  end
  return { deny = "SAVE10 needs a cart of at least $50" }
end)

promo("WELCOME5", function(cart, ctx)
  return { amount = 5, reason = "WELCOME5: $5 off" }
end)

-- Buy 2 get 1 free on beauty basics, at most twice per order.
buy_x_get_y { id = "beauty-3for2", category = "beauty", buy = 2, get = 1, max = 2,
              reason = "beauty: buy 2, get 1 free" }
