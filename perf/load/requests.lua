-- wrk script of the load harness (perf/PipeBalancer.Load): every request goes to the next of
-- N distinct paths, PREFIX0 .. PREFIX(N-1), cycling, so a hash-by-path balancer spreads the
-- load over all backends. With BODY-BYTES > 0 every request is a POST with a body that long.
--
--   wrk -t1 -c64 -d8s --latency -s perf/load/requests.lua http://127.0.0.1:PORT/ -- N [PREFIX] [BODY-BYTES]
--
-- N defaults to 10000, PREFIX to /p/, BODY-BYTES to 0 (GET). Headers given with wrk's -H
-- (e.g. Connection: close) are sent on every request. Each wrk thread runs its own copy of
-- this script; the requests are formatted once in init() so request() only picks the next one.

local requests = {}
local count = 10000
local next_index = 0

function init(args)
  count = tonumber(args[1]) or 10000
  if count < 1 then count = 1 end
  local prefix = args[2] or "/p/"
  local body_bytes = tonumber(args[3]) or 0
  local method, body = "GET", nil
  if body_bytes > 0 then
    method, body = "POST", string.rep("x", body_bytes)
  end
  for k = 0, count - 1 do
    requests[k] = wrk.format(method, prefix .. k, nil, body)
  end
  next_index = 0
end

function request()
  local r = requests[next_index]
  next_index = next_index + 1
  if next_index >= count then next_index = 0 end
  return r
end
