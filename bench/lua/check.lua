-- POST /api/v1/checks: one email per request, a different known subject each time.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_API_KEY")
local subjects = tonumber(os.getenv("BENCH_SUBJECTS") or "1000000")
local counter = 0

request = function()
  counter = counter + 1
  local index = (counter * 7919) % subjects
  local body = '{"purpose":"marketing_email","identifier_type":"email","identifiers":["person'
    .. index .. '@example.com"]}'
  return wrk.format(nil, nil, nil, body)
end
