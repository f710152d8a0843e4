-- reload.lua - pec-milter's reload (SIGUSR1): a connection open before it keeps the set-up it started
-- with, connections opened after it get the new one, and a configuration that does not load leaves the
-- running one in place.  RELOAD_GOOD lowers max_recipients from 3 to 1 and signals the milter, RELOAD_BAD
-- breaks the file and signals it; each returns once the milter's log says what it did.
package.path = os.getenv("LUA_DIR") .. "/?.lua;" .. package.path
local t = require("common")
local D = "pec-esempio.test"
local alice = "alice@" .. D
local two = {
  login = alice, from = "<" .. alice .. ">", rcpts = { "<bob@" .. D .. ">", "<carol@pec-remoto.test>" },
  headers = { { "From", alice }, { "To", "bob@" .. D }, { "Cc", "carol@pec-remoto.test" }, { "Subject", "ricarica" },
              { "Date", "Mon, 23 Nov 2026 08:00:00 +0100" }, { "Message-ID", "<r1@client.test>" } },
}

-- send(conn, name, accepted): two recipients on conn, accepted (3 allowed) or refused 552 (1 allowed)
local function send(conn, name, accepted)
  local ok, err = pcall(function()
    t.transaction(conn, two)
    if accepted then
      t.check(mt.getreply(conn) == SMFIR_CONTINUE, name .. ": accepted")
    else
      t.check(mt.getreply(conn) == SMFIR_REPLYCODE, name .. ": refused")
      t.check(mt.eom_check(conn, MT_SMTPREPLY, "552", "5.5.3",
                           "PEC non accettato (recipients): Troppi destinatari / Too many recipients"),
              name .. ": refused, too many recipients")
    end
    mt.disconnect(conn)
  end)
  t.check(ok, name .. ": " .. tostring(err))
end

local before = t.open()
t.check(os.execute(os.getenv("RELOAD_GOOD")), "the reload was done")
send(before, "a connection opened before the reload", true)
send(t.open(), "a connection opened after the reload", false)
t.check(os.execute(os.getenv("RELOAD_BAD")), "the bad reload was refused")
send(t.open(), "a connection after a refused reload", false)
t.finish()
