-- access.lua - every access-point check (PEC-RULES §5.1) through the milter protocol.
package.path = os.getenv("LUA_DIR") .. "/?.lua;" .. package.path
local t = require("common")
local D = "pec-esempio.test"
local alice = "alice@" .. D

local function hdrs(extra)
  local h = { { "From", alice }, { "To", "bob@" .. D }, { "Cc", "carol@pec-remoto.test" },
              { "Subject", "prova" }, { "Date", "Mon, 23 Nov 2026 08:00:00 +0100" },
              { "Message-ID", "<m1@client.test>" } }
  for _, x in ipairs(extra or {}) do h[#h + 1] = x end
  return h
end
local rcpts = { "<bob@" .. D .. ">", "<carol@pec-remoto.test>" }

-- the texts of the SMTP refusals (access.c's table); this miltertest compares code, xcode and text together
local texts = {
  auth = "auth): Autenticazione richiesta / Authentication required",
  sender = "sender): Il mittente non corrisponde all'utente autenticato / Sender address does not match the authenticated user",
  from = "from): Il campo From deve contenere un solo indirizzo, uguale al mittente SMTP / From must hold exactly one address, equal to the SMTP sender",
  ["two from"] = "from): Il campo From deve contenere un solo indirizzo, uguale al mittente SMTP / From must hold exactly one address, equal to the SMTP sender",
  ["no to"] = "to): Nessun destinatario nel campo To / No recipient in To",
  rcpt = "rcpt): I destinatari SMTP non corrispondono ai campi To e Cc / SMTP recipients differ from the To and Cc fields",
  bcc = "bcc): Destinatari in copia nascosta (Bcc) non ammessi / Bcc recipients are not allowed",
  syntax = "syntax): Messaggio non conforme allo standard RFC 5322 / Message is not RFC 5322 compliant: MIME: conflicting headers (Message-ID)",
  recipients = "recipients): Troppi destinatari / Too many recipients",
  size = "size): Dimensione per numero di destinatari oltre il limite / Message size times recipients over the limit",
}

local function refused(name, code, xcode, s)
  local ok, err = pcall(function()
    local conn = t.session(s)
    t.check(mt.getreply(conn) == SMFIR_REPLYCODE, name .. ": refused")
    t.check(mt.eom_check(conn, MT_SMTPREPLY, code, xcode, "PEC non accettato (" .. texts[name]),
            name .. ": reply " .. code .. " " .. xcode .. " with its text")
    t.check(not mt.eom_check(conn, MT_BODYCHANGE), name .. ": body untouched")
    mt.disconnect(conn)
  end)
  t.check(ok, name .. ": " .. tostring(err))
end

-- accepted: the message becomes the busta, with the marker recipient
local ok, err = pcall(function()
  local conn = t.session({ login = alice, from = "<" .. alice .. ">", rcpts = rcpts, headers = hdrs() })
  t.check(mt.getreply(conn) == SMFIR_CONTINUE, "accept: continue")
  t.check(mt.eom_check(conn, MT_HDRDELETE, "Subject"), "accept: original headers deleted")
  t.check(mt.eom_check(conn, MT_HDRADD, "X-Trasporto", "posta-certificata"), "accept: X-Trasporto added")
  t.check(mt.eom_check(conn, MT_HDRADD, "X-Riferimento-Message-ID", "<m1@client.test>"), "accept: client id kept")
  t.check(mt.eom_check(conn, MT_HDRADD, "Subject", "POSTA CERTIFICATA: prova"), "accept: subject prefix")
  t.check(mt.eom_check(conn, MT_BODYCHANGE), "accept: body replaced")
  mt.disconnect(conn)
end)
t.check(ok, "accept: " .. tostring(err))

refused("auth", "530", "5.7.0", { from = "<" .. alice .. ">", rcpts = rcpts, headers = hdrs() })
refused("sender", "553", "5.7.1", { login = alice, from = "<mallory@" .. D .. ">", rcpts = rcpts, headers = hdrs() })
refused("from", "553", "5.7.1", { login = alice, from = "<" .. alice .. ">", rcpts = rcpts,
        headers = { { "From", "mallory@" .. D }, { "To", "bob@" .. D }, { "Cc", "carol@pec-remoto.test" },
                    { "Date", "Mon, 23 Nov 2026 08:00:00 +0100" } } })
refused("two from", "553", "5.7.1", { login = alice, from = "<" .. alice .. ">", rcpts = rcpts,
        headers = { { "From", alice .. ", bob@" .. D }, { "To", "bob@" .. D }, { "Cc", "carol@pec-remoto.test" },
                    { "Date", "Mon, 23 Nov 2026 08:00:00 +0100" } } })
refused("no to", "554", "5.6.0", { login = alice, from = "<" .. alice .. ">", rcpts = { "<carol@pec-remoto.test>" },
        headers = { { "From", alice }, { "Cc", "carol@pec-remoto.test" }, { "Date", "Mon, 23 Nov 2026 08:00:00 +0100" } } })
refused("rcpt", "554", "5.7.1", { login = alice, from = "<" .. alice .. ">", rcpts = { "<bob@" .. D .. ">" },
        headers = hdrs() })
refused("bcc", "554", "5.7.1", { login = alice, from = "<" .. alice .. ">", rcpts = rcpts,
        headers = hdrs({ { "Bcc", "spy@pec-remoto.test" } }) })
refused("syntax", "554", "5.6.0", { login = alice, from = "<" .. alice .. ">", rcpts = rcpts,
        headers = hdrs({ { "Message-ID", "<again@client.test>" } }) })
refused("recipients", "552", "5.5.3", { login = alice, from = "<" .. alice .. ">",
        rcpts = { "<a@x.test>", "<b@x.test>", "<c@x.test>", "<d@x.test>" },
        headers = { { "From", alice }, { "To", "a@x.test, b@x.test, c@x.test, d@x.test" },
                    { "Date", "Mon, 23 Nov 2026 08:00:00 +0100" } } })
refused("size", "552", "5.3.4", { login = alice, from = "<" .. alice .. ">", rcpts = rcpts, headers = hdrs(),
        body = string.rep("x", 70) .. "\r\n" .. string.rep(string.rep("y", 76) .. "\r\n", 500) })
t.finish()
