-- GET /portal/s/{session}/home spread over the sessions of the portal bench's customers.
-- Start the server: ABO_BENCH_SERVE=1 ABO_BENCH_SESSIONS_FILE=/tmp/sessions.txt \
--   cargo bench -p abo-web --bench portal_load
-- then: ABO_BENCH_SESSIONS_FILE=/tmp/sessions.txt wrk -t2 -c64 -d10s -s portal_home.lua "$URL"
-- (the file holds one session path per line, `/portal/s/{session}`; sessions last an hour).
-- No response() callback: it would make wrk parse every body; wrk already reports
-- "Non-2xx or 3xx responses", which must be absent for the figure to count.
local file = os.getenv("ABO_BENCH_SESSIONS_FILE") or "/tmp/abo-portal-sessions.txt"
local paths = {}
for line in io.lines(file) do
  if #line > 0 then paths[#paths + 1] = line .. "/home" end
end
assert(#paths > 0, "no session in " .. file)
local i = 0
-- Each wrk thread has its own Lua state: start them at different sessions.
setup = function(thread)
  thread:set("offset", math.random(#paths))
end
request = function()
  i = i + 1
  return wrk.format("GET", paths[((i + (offset or 0)) % #paths) + 1])
end
