#!/usr/bin/env python3
"""mailbox-report.py DIR - a short readable account of every mailbox copied by `make demo`.

DIR is build/demo/mail: DIR/<domain>/<user>/{new,cur}/<message>.  For each mailbox, one line per
message in arrival order: arrival time (file mtime), kind (X-Ricevuta / X-Trasporto / ordinary), subject, and for receipts
the recipient they are about (daticert.xml <consegna>) and the error, if any."""
import os
import re
import sys
import time
from email import policy
from email.parser import BytesParser

KIND = {
    "accettazione": "ricevuta di accettazione",
    "non-accettazione": "avviso di non accettazione",
    "presa-in-carico": "ricevuta di presa in carico",
    "avvenuta-consegna": "ricevuta di avvenuta consegna",
    "errore-consegna": "avviso di mancata consegna",
    "preavviso-errore-consegna": "preavviso di mancata consegna",
    "rilevazione-virus": "avviso di rilevazione virus",
}


def daticert(msg):
    for part in msg.walk():
        if part.get_filename() == "daticert.xml" or part.get_param("name") == "daticert.xml":
            data = part.get_payload(decode=True) or b""
            return data.decode("utf-8", "replace")
    return ""


def describe(path):
    with open(path, "rb") as f:
        msg = BytesParser(policy=policy.compat32).parse(f)
    subj = str(msg.get("Subject", "")).replace("\n", " ")
    ric = msg.get("X-Ricevuta")
    tra = msg.get("X-Trasporto")
    when = time.strftime("%H:%M:%S", time.localtime(os.path.getmtime(path)))
    extra = ""
    xml = daticert(msg)
    if ric:
        kind = KIND.get(ric.strip(), ric.strip())
        m = re.search(r'<ricevuta tipo="([^"]*)"', xml)
        if m:
            kind += " (%s)" % m.group(1)
        m = re.search(r"<consegna>([^<]*)</consegna>", xml)
        if m:
            extra += " per " + m.group(1)
        m = re.search(r'errore="([^"]*)"', xml)
        if m and m.group(1) != "nessuno":
            extra += " errore=" + m.group(1)
        m = re.search(r"<errore-esteso>([^<]*)</errore-esteso>", xml)
        if m:
            extra += " (" + m.group(1) + ")"
    elif tra and tra.strip() == "posta-certificata":
        kind = "messaggio PEC (busta di trasporto)"
    elif tra and tra.strip() == "errore":
        kind = "ANOMALIA (busta di anomalia)"
    else:
        kind = "posta ordinaria"
    return when, kind, subj, extra


def main():
    root = sys.argv[1]
    for domain in sorted(os.listdir(root)):
        for user in sorted(os.listdir(os.path.join(root, domain))):
            files = []
            for sub in ("new", "cur"):
                d = os.path.join(root, domain, user, sub)
                if os.path.isdir(d):
                    files += [os.path.join(d, n) for n in os.listdir(d)]
            files.sort(key=lambda p: (os.path.getmtime(p), p))
            print("  %s@%s: %d message%s" % (user, domain, len(files), "" if len(files) == 1 else "s"))
            for p in files:
                when, kind, subj, extra = describe(p)
                print("    %s  %-42s %s%s" % (when, kind, subj, extra))


if __name__ == "__main__":
    main()
