version = 1
-- io is not in the sandbox
local cfg = io.open("limits.txt"):read("a")
