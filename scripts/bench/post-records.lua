-- wrk script: POST batches of 1,000 new records (job ids unique per run, thread and request:
-- a second run must not resend the first one's records, which would only measure "unchanged").
local counter = 0
local run = os.time()
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function request()
  counter = counter + 1
  local parts = {}
  local base = (thread_id * 100000000) + counter * 1000
  for i = 0, 999 do
    local id = base + i
    local start = 1719828000 + (id % 86400)
    parts[#parts + 1] = string.format(
      '{"site":"bench","cluster":"c1","job_id":"%d-%d","user":"u%d","account":"a%d","partition":"cpu",' ..
      '"submit":%d,"start":%d,"end":%d,"wall_seconds":3600,"cores":%d,"state":"completed"}',
      run, id, id % 500, id % 60, start - 60, start, start + 3600, 1 + id % 32)
  end
  local body = "[" .. table.concat(parts, ",") .. "]"
  -- wrk.format uses only the headers given: keep -H's Authorization.
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["Content-Type"] = "application/json"
  return wrk.format("POST", "/api/v1/records", headers, body)
end
