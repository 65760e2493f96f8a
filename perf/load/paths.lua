-- wrk script for perf/load/run.sh: every request goes to the next of N distinct
-- paths, /p/0 .. /p/(N-1), cycling, so a hash-by-path balancer spreads the load
-- over all backends.
--
--   wrk -t1 -c64 -d8s --latency -s perf/load/paths.lua http://127.0.0.1:PORT/ -- N
--
-- N defaults to 10000. Each wrk thread runs its own copy of this script; the
-- requests are formatted once in init() so request() only picks the next one.

local requests = {}
local count = 10000
local next_index = 0

function init(args)
  count = tonumber(args[1]) or 10000
  if count < 1 then count = 1 end
  for k = 0, count - 1 do
    requests[k] = wrk.format("GET", "/p/" .. k)
  end
  next_index = 0
end

function request()
  local r = requests[next_index]
  next_index = next_index + 1
  if next_index >= count then next_index = 0 end
  return r
end
