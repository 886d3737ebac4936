version = 1
-- a top level that never ends runs out of its instruction budget
while true do end
