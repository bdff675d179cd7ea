-- wrk script: random Range reads of BLOCK bytes at random (unaligned) offsets of a file.
-- usage: wrk ... -s range.lua URL -- <path> <file size> <block> [<header name> <header value>]
-- With block 0 it sends plain GETs of <path> (no Range): the list-page measurement uses that.
-- At the end it prints one line "BENCH_JSON {...}" with the totals and latency percentiles (us).

local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  path = args[1]
  size = tonumber(args[2])
  block = tonumber(args[3])
  extra_name = args[4]
  extra_value = args[5]
  math.randomseed(os.time() * 1000 + id * 7919)
  -- LuaJIT's math.random(m, n) is exact up to 2^31; build larger offsets from two draws.
  span = size - block
end

local function offset()
  if span < 2147483647 then
    return math.random(0, span)
  end
  local hi = math.random(0, math.floor(span / 1048576))
  local off = hi * 1048576 + math.random(0, 1048575)
  if off > span then off = span end
  return off
end

function request()
  local headers = {}
  if block > 0 then
    local start = offset()
    headers["Range"] = string.format("bytes=%d-%d", start, start + block - 1)
  end
  if extra_name then headers[extra_name] = extra_value end
  return wrk.format("GET", path, headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors_connect":%d,"errors_read":%d,' ..
    '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
