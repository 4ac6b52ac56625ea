-- wrk script of scripts/bench-http.sh: DEPTH pipelined GETs of the URL's path per write on
-- each connection (the next DEPTH once all DEPTH responses are in), and one JSON line at the
-- end for the script to read.
--
--   wrk -t1 -c64 -d5s -s scripts/wrk-pipeline.lua http://127.0.0.1:8080/ -- 16
--
-- DEPTH 1 (the default) leaves wrk's own static request in place: plain keep-alive, one
-- request in flight per connection. The JSON line (on stdout, after wrk's report):
-- {"requests":N,"duration_us":N,"bytes":N,"p50_us":N,"p99_us":N,"errors":N}, errors being
-- the sum of wrk's connect, read, write, timeout and non-2xx/3xx status counts.
--
-- Latency is wrk's: from a write to the last response it asked for (with DEPTH > 1 that is
-- a whole batch), as wrk 4.1 hands it to `done`, after its coordinated-omission correction.
-- The percentiles are read off that histogram here: wrk 4.1's own `percentile` can return 0
-- once the correction has added samples below the histogram's minimum.

function init(args)
   local depth = tonumber(args[1]) or 1
   if depth > 1 then
      local batch = {}
      for i = 1, depth do
         batch[i] = wrk.format(nil, wrk.path)
      end
      local requests = table.concat(batch)
      -- Defined only here: without a `request` function wrk sends its static request.
      request = function()
         return requests
      end
   end
end

-- The P-th percentile of a wrk stats object, from its (value, count) pairs in ascending order.
local function percentile(stats, p)
   local points, total = {}, 0
   for i = 1, #stats do
      local value, count = stats(i)
      points[i] = { value, count }
      total = total + count
   end
   local rank, seen = math.ceil(total * p / 100), 0
   for _, point in ipairs(points) do
      seen = seen + point[2]
      if seen >= rank then
         return point[1]
      end
   end
   return 0
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '{"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p99_us":%d,"errors":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      percentile(latency, 50), percentile(latency, 99),
      e.connect + e.read + e.write + e.timeout + e.status))
end
