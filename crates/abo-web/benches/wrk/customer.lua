-- GET /v1/Customer spread over the bench's customers (cust-0 .. cust-<N-1>).
-- Usage: wrk -t2 -c64 -d10s -s customer.lua -H "$AUTH" "$URL"
-- N comes from the environment variable ABO_BENCH_CUSTOMERS (default 1000).
local n = tonumber(os.getenv("ABO_BENCH_CUSTOMERS") or "1000")
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/v1/Customer?ReferenceCustomer=cust-" .. (i % n))
end
