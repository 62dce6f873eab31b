-- wrk script for bench/ingest.py: each wrk thread is one engine (one connection, one session) posting
-- batches of BATCH decision events with ids unique to the run, and counting what the API accepted.
-- Environment: SESSIONS (comma-separated session ids, PER of them for each thread, in turn), PER, BATCH,
-- KEY, RUN (8 hex digits).
-- Prints one line at the end: RESULT <json> with requests, accepted, errors and latency percentiles.

local sessions = {}
for s in string.gmatch(os.getenv("SESSIONS"), "[^,]+") do sessions[#sessions + 1] = s end
local batch = tonumber(os.getenv("BATCH"))
local per = tonumber(os.getenv("PER") or "1")
local run = os.getenv("RUN")
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. os.getenv("KEY")}
local data = '{"decision_id":"d1","choice_id":"c2","time_to_decide_ms":5200,"impacts":{"financial":1}}'

local threads = {}
local created = 0
function setup(thread)
  thread:set("engine", created)
  created = created + 1
  threads[#threads + 1] = thread
end

-- Per thread (each thread has its own Lua state and these globals).
sent = 0
accepted = 0
errors = 0
throttled = 0

function request()
  sent = sent + 1
  local parts = {}
  for i = 1, batch do
    parts[i] = string.format(
      '{"id":"%s-%04x-4000-8000-%012x","type":"decision","timestamp":"2026-11-25T10:00:00.%06d+00:00","data":%s}',
      run, engine, sent * 1000 + i, (sent * 1000 + i) % 1000000, data)
  end
  local body = '{"session_id":"' .. sessions[((engine * per + sent % per) % #sessions) + 1] .. '","events":[' .. table.concat(parts, ",") .. ']}'
  return wrk.format("POST", "/api/v1/events", headers, body)
end

function response(status, _headers, body)
  if status == 200 then
    accepted = accepted + tonumber(string.match(body, '"accepted":(%d+)'))
  else
    errors = errors + 1
    if status == 429 then throttled = throttled + 1 end
  end
end

function done(summary, latency, _requests)
  local total_accepted, total_errors, total_throttled = 0, 0, 0
  for _, thread in ipairs(threads) do
    total_accepted = total_accepted + thread:get("accepted")
    total_errors = total_errors + thread:get("errors")
    total_throttled = total_throttled + thread:get("throttled")
  end
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%.6f,"accepted":%d,"errors":%d,"throttled":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration / 1e6, total_accepted, total_errors, total_throttled,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
