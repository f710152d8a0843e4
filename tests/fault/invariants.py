#!/usr/bin/env python3
"""invariants.py - what the fault suite proves, counted from the mailboxes and both trace stores.

Usage: invariants.py T_TMP DOMAIN_A DOMAIN_B SEED
Reads T_TMP/fault/sub/<k> (each submission at pec-a and its outcome), T_TMP/fault/events-{a,b}.tsv and
messages-a.tsv (dumps of the trace stores), T_TMP/fault/faults.log (one line per fault injected) and every
Maildir under T_TMP/net-*/home.  Prints one line and exits 1 when an invariant count is not 0:
  receipts_without_queued_message  a receipt (other than a non accettazione) for a message whose busta
                                   reached no mailbox or that pec-a never marked queued
  accepted_without_trace           a submission answered 250 without its message, busta-trasporto and
                                   accettazione rows in pec-a's trace
  lost_receipts                    an accepted message without an accettazione; a delivered busta without
                                   its avvenuta consegna at the sender (unless the trace shows that receipt
                                   refused by the MTA); a recipient at pec-b without a presa in carico;
                                   an undelivered recipient without a mancata consegna
  duplicate_consegna               avvenuta consegna receipts beyond one per message and recipient
  untraced_receipts                a receipt whose Message-ID no trace store holds as an event's message
  lost_messages                    an accepted message missing from a recipient's mailbox
  duplicate_deliveries             copies of one busta in one mailbox beyond the first
  false_notices                    a 12 h / 24 h notice for a recipient whose avvenuta consegna came
"""
import collections
import email
import email.policy
import glob
import os
import re
import sys

NOTICE_TYPES = ("preavviso-errore-consegna", "errore-consegna")


def strip_id(value):
    return (value or "").strip().strip("<>")


def read_tsv(path, ncols):
    rows = []
    if os.path.exists(path):
        for line in open(path, encoding="utf-8", errors="replace"):
            parts = line.rstrip("\n").split("\t")
            rows.append(parts + [""] * (ncols - len(parts)))
    return rows


def daticert(msg):
    for part in msg.walk():
        if part.get_filename() == "daticert.xml":
            return part.get_payload(decode=True).decode("utf-8", "replace")
    return ""


def xml_values(xml, tag):
    return re.findall(r"<%s(?: [^>]*)?>([^<]*)</%s>" % (tag, tag), xml)


def main():
    tmp, dom_a, dom_b, seed = sys.argv[1:5]
    fdir = os.path.join(tmp, "fault")

    subs = []
    for path in glob.glob(os.path.join(fdir, "sub", "*")):
        rec = dict(line.rstrip("\n").split("=", 1) for line in open(path) if "=" in line)
        subs.append(rec)
    accepted = [s for s in subs if s.get("accepted") == "1"]

    events_a = read_tsv(os.path.join(fdir, "events-a.tsv"), 4)
    events = events_a + read_tsv(os.path.join(fdir, "events-b.tsv"), 4)
    traced_msgids = {strip_id(e[2]) for e in events if e[2]}
    types_a = collections.defaultdict(set)  # identificativo -> event types at pec-a
    for e in events_a:
        types_a[e[1]].add(e[0])
    refused = collections.Counter()  # identificativo -> its receipts the MTA refused for good
    for e in events:
        if e[0] == "ricevuta-rifiutata":
            refused[e[1]] += 1
    ident_of, queued = {}, set()
    for ident, subject, is_queued in read_tsv(os.path.join(fdir, "messages-a.tsv"), 3):
        m = re.search(r"fault (\d+)", subject)
        if m:
            ident_of[m.group(1)] = ident
        if is_queued == "t":
            queued.add(ident)

    bustas = collections.Counter()          # (mailbox, identificativo) -> copies
    receipts = []                           # (mailbox, type, identificativo, recipients, Message-ID)
    for path in glob.glob(os.path.join(tmp, "net-*", "home", "*", "Maildir", "*", "*")):
        if os.path.basename(os.path.dirname(path)) not in ("new", "cur"):
            continue
        mailbox = path.split(os.sep)[-4]
        with open(path, "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.compat32)
        if (msg.get("X-Trasporto") or "").strip() == "posta-certificata":
            bustas[(mailbox, strip_id(msg.get("Message-ID")))] += 1
        kind = (msg.get("X-Ricevuta") or "").strip()
        if kind:
            xml = daticert(msg)
            idents = xml_values(xml, "identificativo")
            receipts.append((mailbox, kind, idents[0] if idents else "", xml_values(xml, "consegna"),
                             strip_id(msg.get("Message-ID"))))
    delivered = {ident for (_, ident) in bustas}

    count = collections.Counter()
    problems = []

    def bad(name, text):
        count[name] += 1
        if len(problems) < 40:
            problems.append("%s: %s" % (name, text))

    consegne = collections.Counter()        # (sender, identificativo, recipient) -> receipts
    consegna_ids = collections.defaultdict(list)  # the same -> the receipts' Message-IDs
    notices = set()                         # (identificativo, recipient) with a timeout / mancata notice
    accettazioni, prese = set(), set()
    for mailbox, kind, ident, rcpts, msgid in receipts:
        if msgid not in traced_msgids:
            bad("untraced_receipts", "%s %s in %s (Message-ID %s)" % (kind, ident, mailbox, msgid))
        if not kind.startswith("non-accettazione") and (ident not in delivered or ident not in queued):
            bad("receipts_without_queued_message", "%s %s in %s" % (kind, ident, mailbox))
        if kind == "accettazione":
            accettazioni.add(ident)
        elif kind == "presa-in-carico":
            prese.add(ident)
        elif kind == "avvenuta-consegna":
            for r in rcpts:
                consegne[(mailbox, ident, r)] += 1
                consegna_ids[(mailbox, ident, r)].append(msgid)
        elif kind in NOTICE_TYPES:
            for r in rcpts:
                notices.add((ident, r))

    for key, n in consegne.items():
        if n > 1:
            for _ in range(n - 1):
                # one Message-ID twice: stored twice at the sender; two: sent twice by the recipient's side
                bad("duplicate_consegna", "%s has %d avvenuta consegna for %s (Message-IDs %s)" % (
                    key[0], n, key[1:], " ".join(consegna_ids[key])))
    for key, n in bustas.items():
        if n > 1:
            for _ in range(n - 1):
                bad("duplicate_deliveries", "%s holds %d copies of %s" % (key[0], n, key[1]))
    consegnati = {(ident, r) for (_, ident, r) in consegne}
    for ident, r in notices & consegnati:
        bad("false_notices", "timeout notice for %s %s whose consegna came" % (ident, r))

    for s in accepted:
        ident = ident_of.get(s["k"])
        if ident is None or not {"busta-trasporto", "accettazione"} <= types_a.get(ident, set()):
            bad("accepted_without_trace", "submission %s (%s)" % (s["k"], s.get("kind")))
            continue
        if ident not in accettazioni:
            bad("lost_receipts", "no accettazione for submission %s" % s["k"])
        rcpts = s["rcpts"].split(",")
        if any(r.endswith("@" + dom_b) for r in rcpts) and ident not in prese:
            bad("lost_receipts", "no presa in carico for submission %s" % s["k"])
        for r in rcpts:
            if bustas[(r, ident)] == 0:
                bad("lost_messages", "submission %s never reached %s" % (s["k"], r))
                if (ident, r) not in notices:
                    bad("lost_receipts", "no mancata consegna for submission %s to %s" % (s["k"], r))
            elif consegne[(s["from"], ident, r)] == 0 and refused[ident] == 0:
                bad("lost_receipts", "no avvenuta consegna for submission %s to %s" % (s["k"], r))

    faults = collections.Counter(line.strip() for line in open(os.path.join(fdir, "faults.log")) if line.strip())
    invariants = ("receipts_without_queued_message", "accepted_without_trace", "lost_receipts",
                  "duplicate_consegna", "untraced_receipts", "lost_messages", "duplicate_deliveries",
                  "false_notices")
    for p in problems:
        print(p)
    print("fault: messages=%d accepted=%d %s receipts=%d refused_receipts=%d faults=%s seed=%s" % (
        len(subs), len(accepted), " ".join("%s=%d" % (name, count[name]) for name in invariants),
        len(receipts), sum(refused.values()),
        ",".join("%s:%d" % kv for kv in sorted(faults.items())), seed))
    return 1 if any(count[name] for name in invariants) else 0


if __name__ == "__main__":
    sys.exit(main())
