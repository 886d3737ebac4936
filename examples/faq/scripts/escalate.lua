-- Flags shoppers who sound upset so that the router hands them to a
-- person instead of answering with a canned FAQ text.
local upset_words = {
  "angry", "furious", "terrible", "awful", "unacceptable", "ridiculous",
  "worst", "scam", "fed up", "disgusting", "complaint",
}

function run(ctx)
  local text = string.lower(ctx.message.text or "")
  for _, w in ipairs(upset_words) do
    if string.find(text, w, 1, true) then
      ctx.vars.upset = true
      ctx.vars.upset_word = w
      return
    end
  end
end
