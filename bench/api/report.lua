-- wrk script fragment: after the run, print one line the benchmark parses:
--   RESULT <requests> <seconds> <req/s> <p50 ms> <p99 ms> <errors> <non-2xx/3xx>
-- Used alone for plain GETs, and loaded by users-by-id.lua.
function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %d %.3f %.1f %.3f %.3f %d %d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    errors, summary.errors.status))
end
