-- POST /v1/Usage (+1 e-signature) spread over the bench's customers.
-- Usage: wrk -t2 -c64 -d10s -s usage.lua -H "$AUTH" "$URL"
-- N comes from the environment variable ABO_BENCH_CUSTOMERS (default 1000).
local n = tonumber(os.getenv("ABO_BENCH_CUSTOMERS") or "1000")
local i = 0
-- wrk.format replaces the -H headers when given a table: start from them.
local headers = {}
for k, v in pairs(wrk.headers) do headers[k] = v end
headers["Content-Type"] = "application/json"
request = function()
  i = i + 1
  local body = '{"ReferenceFeature":"e-signature","ReferenceCustomer":"cust-' .. (i % n) .. '","Increment":1}'
  return wrk.format("POST", "/v1/Usage", headers, body)
end
-- Count non-2xx answers so a fast error is not mistaken for throughput.
local errors = 0
response = function(status, headers, body)
  if status ~= 200 then
    errors = errors + 1
    if errors == 1 then io.stderr:write("non-200: " .. status .. " " .. body .. "\n") end
  end
end
