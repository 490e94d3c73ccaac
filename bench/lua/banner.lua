-- POST /api/v1/sites/<key>/consents as the banner does (text/plain JSON, with Origin).
-- BENCH_VISITOR set: every request writes for that one visitor; else each request is a
-- new visitor. Event ids are unique per run (BENCH_RUN) and per wrk thread.
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
wrk.headers["Origin"] = os.getenv("BENCH_ORIGIN")
local run = os.getenv("BENCH_RUN")
local shared_visitor = os.getenv("BENCH_VISITOR") or ""
local counter = 0
thread_tag = "t0"

setup = function(thread)
  thread:set("thread_tag", "t" .. tostring(math.random(1, 1000000000)))
end

request = function()
  counter = counter + 1
  local id = run .. "-" .. thread_tag .. "-" .. counter
  local visitor = shared_visitor ~= "" and shared_visitor or ("v" .. id .. "-xxxxxxxx")
  local analytics = (counter % 2 == 0) and "true" or "false"
  local body = '{"visitor_id":"' .. visitor .. '","event_id":"e' .. id
    .. '","choices":{"functional":true,"analytics":' .. analytics .. '}}'
  return wrk.format(nil, nil, nil, body)
end
