-- wrk script of bench/run.sh. MODE=read: POST one of the bodies of READS
-- (one JSON body a line), in turn. MODE=write: run with -t equal to -c, so
-- each thread is one connection and owns one measure of IDS ("id:version"
-- comma-separated): it sends WRITE (a body with @ID@, @VERSION@, @N@
-- in it) with the version of its last answer. MODE=mix: a read, or a write
-- with probability WRITE_PCT/100. Every answer that is not 2xx or that
-- carries "errors" counts as bad, but a CONFLICT, whose current version the
-- writer takes; done() prints one RESULT line.
local mode = os.getenv("MODE") or "read"
local token = os.getenv("TOKEN") or ""
local write_pct = tonumber(os.getenv("WRITE_PCT") or "10")

local threads = {}
local slots = 0
function setup(thread)
  slots = slots + 1
  thread:set("slot", slots)
  table.insert(threads, thread)
end

local reads, n_reads, next_read = {}, 0, 0
local id, version, n, last_write = nil, nil, 0, false
bad, first_bad, conflicts = 0, nil, 0  -- globals: done() reads them with thread:get
local read_headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
local write_headers = { ["Content-Type"] = "application/json", ["X-Bench-Write"] = "1",
  ["Authorization"] = "Bearer " .. (os.getenv("WRITE_TOKEN") or token) }

function init(args)
  for line in string.gmatch(os.getenv("READS") or "", "[^\n]+") do
    n_reads = n_reads + 1
    reads[n_reads] = line
  end
  if mode ~= "read" then
    local i = 0
    for pair in string.gmatch(os.getenv("IDS"), "[^,]+") do
      i = i + 1
      if i == slot then id, version = string.match(pair, "([^:]+):(%d+)") end
    end
    assert(id, "IDS has no measure for connection " .. slot)
    math.randomseed(slot)
  end
end

function request()
  if mode == "write" or (mode == "mix" and math.random(100) <= write_pct) then
    last_write = true
    n = n + 1
    local body = os.getenv("WRITE"):gsub("@ID@", id):gsub("@VERSION@", version):gsub("@N@", slot .. "-" .. n)
    return wrk.format("POST", nil, write_headers, body)
  end
  last_write = false
  next_read = next_read % n_reads + 1
  return wrk.format("POST", nil, read_headers, reads[next_read])
end

function response(status, headers, body)
  -- CONFLICT: a write of an earlier run (one wrk gave up on) landed after
  -- this run read the versions; a client takes the current one and goes on.
  local current = last_write and string.match(body, '"currentVersion":(%d+)')
  if current then
    version = current
    conflicts = conflicts + 1
    return
  end
  if status < 200 or status > 299 or string.find(body, '"errors"', 1, true) then
    bad = bad + 1
    first_bad = first_bad or (status .. " " .. string.sub(body, 1, 300))
  elseif last_write then
    -- a write that answers no version did not happen (PostGraphile answers null)
    version = string.match(body, '"version":(%d+)')
    if not version then
      bad = bad + 1
      first_bad = first_bad or ("no version: " .. string.sub(body, 1, 300))
    end
  end
end

done = function(summary, latency, requests)
  local total_bad, total_conflicts, sample = 0, 0, ""
  for _, t in ipairs(threads) do
    total_bad = total_bad + t:get("bad")
    total_conflicts = total_conflicts + t:get("conflicts")
    sample = t:get("first_bad") or sample
  end
  local e = summary.errors
  io.write(string.format("RESULT requests=%d rps=%.1f p50=%.2f p90=%.2f p99=%.2f errors=%d bad=%d conflicts=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout + e.status, total_bad, total_conflicts))
  if sample ~= "" then io.write("FIRST_BAD " .. sample:gsub("\n", " ") .. "\n") end
end
