-- wrk script: GET /users/{id} with ids drawn uniformly from 1..max_id (default 10000; override with
-- the environment variable BENCH_MAX_ID). Prints one machine-readable RESULT line when done.
local max_id = tonumber(os.getenv("BENCH_MAX_ID") or "10000")
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("seed", thread_count)
end

function init(args)
  -- Each wrk thread has its own Lua state: give each its own sequence.
  math.randomseed(os.time() * 1000 + (seed or 0))
end

function request()
  return wrk.format("GET", "/users/" .. math.random(1, max_id))
end

dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
