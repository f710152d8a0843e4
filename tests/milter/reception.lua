-- reception.lua - the reception point's classes through the milter protocol.
package.path = os.getenv("LUA_DIR") .. "/?.lua;" .. package.path
local t = require("common")
local D = "pec-esempio.test"
local NOT_PEC = "Indirizzo destinatario sconosciuto o non abilitato alla ricezione di posta non certificata / " ..
                "Recipient unknown or not accepting non-certified mail"

local function run(name, file, rcpts, extra_headers, expect, from)
  local ok, err = pcall(function()
    local headers, body
    if file then
      headers, body = t.read_eml(file)
    else
      headers = { { "From", "someone@example.net" }, { "To", rcpts[1] }, { "Subject", "ordinaria" },
                  { "Date", "Mon, 23 Nov 2026 08:00:00 +0100" } }
      body = "ciao\r\n"
    end
    for _, h in ipairs(extra_headers or {}) do headers[#headers + 1] = h end
    local r = {}
    for i, a in ipairs(rcpts) do r[i] = "<" .. a .. ">" end
    local conn = t.session({ from = from or "<sender@elsewhere.test>", rcpts = r, headers = headers, body = body })
    expect(conn)
    mt.disconnect(conn)
  end)
  t.check(ok, name .. ": " .. tostring(err))
end

local busta = os.getenv("EXAMPLE_BUSTA")
run("valid busta", os.getenv("BUSTA_BOB_ZED"), { "bob@" .. D, "zed@" .. D }, nil, function(conn)
  t.check(mt.getreply(conn) == SMFIR_CONTINUE, "valid busta: accepted")
  t.check(mt.eom_check(conn, MT_RCPTDELETE, "<zed@" .. D .. ">"), "valid busta: unknown zed removed")
  t.check(not mt.eom_check(conn, MT_RCPTDELETE, "<bob@" .. D .. ">"), "valid busta: bob kept")
  t.check(not mt.eom_check(conn, MT_BODYCHANGE), "valid busta: stored unmodified")
end, "<alice@" .. D .. ">") -- a busta keeps its sender's reverse path: an address of a listed provider

-- at RCPT time: no such box, and a reverse path of no listed provider (no busta can come from it): 550
do
  local conn = t.open()
  assert(mt.mailfrom(conn, "<sender@elsewhere.test>") == nil)
  assert(mt.rcptto(conn, "<zed@" .. D .. ">") == nil)
  t.check(mt.getreply(conn) == SMFIR_REPLYCODE, "RCPT of no box from outside PEC: refused")
  assert(mt.rcptto(conn, "<bob@" .. D .. ">") == nil)
  t.check(mt.getreply(conn) == SMFIR_CONTINUE, "RCPT of a box from outside PEC: accepted")
  mt.disconnect(conn)
end
local dir = busta:match("^(.*)/[^/]*$")
run("valid receipt", dir .. "/accettazione.eml", { "alice@" .. D }, nil, function(conn)
  t.check(mt.getreply(conn) == SMFIR_CONTINUE, "valid receipt: accepted")
  t.check(not mt.eom_check(conn, MT_RCPTDELETE, "<alice@" .. D .. ">"), "valid receipt: delivered to alice")
  t.check(not mt.eom_check(conn, MT_HDRADD, "X-PEC-Anomalia"), "valid receipt: not marked as anomaly")
end)
run("busta to a stranger", busta, { "alice@" .. D }, nil, function(conn)
  t.check(mt.eom_check(conn, MT_SMTPREPLY, "554", "5.7.1", NOT_PEC),
          "busta to an envelope recipient its daticert does not name: not PEC, refused")
end)
run("anomaly of a provider", dir .. "/busta-anomalia.eml", { "bob@" .. D }, nil, function(conn)
  t.check(mt.getreply(conn) == SMFIR_CONTINUE, "another provider's busta di anomalia: delivered as it is")
  t.check(not mt.eom_check(conn, MT_HDRADD, "X-PEC-Anomalia"), "busta di anomalia: not wrapped again")
end)
run("tampered receipt", dir .. "/accettazione.eml", { "bob@" .. D }, { { "X-Ricevuta", "avvenuta-consegna" } },
    function(conn)
  -- signed validly by a listed provider but failing a formal check: wrapped for any mailbox (PEC-RULES §5.2)
  t.check(mt.getreply(conn) == SMFIR_CONTINUE, "receipt with two X-Ricevuta: accepted for wrapping")
  t.check(mt.eom_check(conn, MT_HDRADD, "X-PEC-Anomalia", "formale"), "receipt with two X-Ricevuta: marked formale")
end)
run("ordinary to pec-only", nil, { "bob@" .. D }, nil, function(conn)
  t.check(mt.getreply(conn) == SMFIR_REPLYCODE, "ordinary: refused")
  t.check(mt.eom_check(conn, MT_SMTPREPLY, "554", "5.7.1", NOT_PEC), "ordinary: 554 5.7.1 with its text")
end)
run("ordinary to olga", nil, { "olga@" .. D }, { { "X-PEC-Anomalia", "forged" } }, function(conn)
  t.check(mt.getreply(conn) == SMFIR_CONTINUE, "ordinary to olga: accepted")
  t.check(mt.eom_check(conn, MT_HDRDELETE, "X-PEC-Anomalia"), "ordinary to olga: forged mark removed")
  t.check(mt.eom_check(conn, MT_HDRADD, "X-PEC-Anomalia"), "ordinary to olga: mark added for wrapping")
end)
run("forged busta", nil, { "bob@" .. D }, { { "X-Trasporto", "posta-certificata" } }, function(conn)
  t.check(mt.eom_check(conn, MT_SMTPREPLY, "554", "5.7.1", NOT_PEC), "forged X-Trasporto without signature: refused")
end)
local samples = os.getenv("SAMPLES")
local f = samples and io.open(samples .. "/aruba-2014/busta-trasporto-1.eml")
if f then
  f:close()
  run("aruba", samples .. "/aruba-2014/busta-trasporto-1.eml", { "bob@" .. D }, nil, function(conn)
    -- fail closed: Aruba is in the index, but its CA (DigitPA / AgID) is not among our trust anchors
    t.check(mt.eom_check(conn, MT_SMTPREPLY, "554", "5.7.1", NOT_PEC), "real Aruba busta, untrusted CA: refused")
  end)
  run("sogei", samples .. "/sogei-2018-edited/busta-invio-file.eml", { "bob@" .. D }, nil, function(conn)
    t.check(mt.eom_check(conn, MT_SMTPREPLY, "554", "5.7.1", NOT_PEC), "edited Sogei busta refused")
  end)
end
t.finish()
