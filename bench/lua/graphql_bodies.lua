-- wrk script: each connection sends POST /graphql with its own body and headers, read from a file of
-- lines "<authorization header or ->\t<json body>". Prints one JSON summary line at the end.
local bodies = {}
local counter = 0
local errors = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local pause_ms = 0

function init(args)
  local path = args[1]
  pause_ms = tonumber(args[2] or "0")
  for line in io.lines(path) do
    local auth, body = line:match("^([^\t]*)\t(.*)$")
    table.insert(bodies, {auth = auth, body = body})
  end
  requests = 0
  bad = 0
  math.randomseed(os.time() * 100 + id)
end

function request()
  requests = requests + 1
  local item = bodies[(requests + id * 7919) % #bodies + 1]
  local headers = {["Content-Type"] = "application/json"}
  if item.auth ~= "-" then headers["Authorization"] = item.auth end
  return wrk.format("POST", nil, headers, item.body)
end

-- Paced runs: each connection waits between requests, so the offered load is a rate, not "as fast as
-- the server answers" (closed-loop latency at saturation is queueing time, not service time). The wait is
-- drawn uniformly from [0, 2 x pause] (the same mean): with a fixed one, connections that started together
-- stay in step, and 20 people would ask in the same millisecond once a second (the first run of unique
-- gateway queries measured that burst's queue: p50 145 ms at 17 q/s on 1.2 busy cores).
function delay()
  return math.random() * 2 * pause_ms
end

function response(status, headers, body)
  if status ~= 200 or body:find('"errors"', 1, true) then bad = bad + 1 end
end

function done(summary, latency, requests)
  local bad_total = 0
  -- per-thread counters are not visible here; errors come from the summary's non-2xx/3xx count
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean))
end
