-- common.lua - helpers for the miltertest scripts: one SMTP transaction per call, failures counted.
-- miltertest exits 1 without a message on an uncaught error, so every check goes through check().
local M = {}
M.failures = 0
M.checks = 0

function M.check(cond, what)
  M.checks = M.checks + 1
  if not cond then
    M.failures = M.failures + 1
    mt.echo("FAIL: " .. what)
  end
end

-- read_eml(path) -> list of {name, value}, body (CRLF): a tiny header splitter for test input only
function M.read_eml(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  data = data:gsub("\r\n", "\n")
  local head, body = data:match("^(.-)\n\n(.*)$")
  local headers = {}
  for line in (head .. "\n"):gmatch("(.-)\n") do
    if line:match("^[ \t]") and #headers > 0 then
      headers[#headers][2] = headers[#headers][2] .. "\n" .. line
    else
      local n, v = line:match("^([^:]+):[ \t]?(.*)$")
      if n then headers[#headers + 1] = { n, v } end
    end
  end
  return headers, (body:gsub("\n", "\r\n"))
end

-- open() -> a new connection to the milter (negotiated)
function M.open()
  local conn = mt.connect(os.getenv("MILTER_SOCK"), 40, 0.25)
  assert(conn, "cannot connect to the milter")
  assert(mt.conninfo(conn, "client.test", "127.0.0.1") == nil)
  return conn
end

-- session{login=, from=, rcpts={}, headers={{n,v}}, body=} -> conn after end-of-message
function M.session(t)
  return M.transaction(M.open(), t)
end

-- transaction(conn, t) -> conn after end-of-message: one transaction of session() on an open connection
function M.transaction(conn, t)
  if t.login then
    assert(mt.macro(conn, SMFIC_MAIL, "{auth_authen}", t.login, "i", "TESTQID") == nil)
  end
  assert(mt.mailfrom(conn, t.from) == nil)
  for _, r in ipairs(t.rcpts) do assert(mt.rcptto(conn, r) == nil) end
  for _, h in ipairs(t.headers) do assert(mt.header(conn, h[1], h[2]) == nil) end
  assert(mt.eoh(conn) == nil)
  local body = t.body or "testo\r\n"
  for i = 1, #body, 60000 do -- the milter protocol carries at most 64 KB per body chunk
    assert(mt.bodystring(conn, body:sub(i, i + 59999)) == nil)
  end
  assert(mt.eom(conn) == nil)
  return conn
end

function M.finish()
  mt.echo(string.format("%d passed, %d failed", M.checks - M.failures, M.failures))
  if M.failures > 0 then error("failures") end
end

return M
