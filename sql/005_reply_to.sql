-- 005_reply_to.sql - the address the sender asked replies to go to (the busta's daticert <risposte>, from
-- Reply-To), kept so that the 12 h / 24 h notices written long after acceptance carry it in their own
-- <risposte> as PEC-RULES asks.  NULL: the sender itself (rows written before this migration).
ALTER TABLE messages ADD COLUMN reply_to text;
