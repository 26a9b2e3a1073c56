#!/usr/bin/env python3
"""A real SMTP server for glint's mailer tests (Python 3.11's stdlib smtpd; removed in 3.12).

Listens on 127.0.0.1 (port 0: a free one), prints "smtp_sink listening on 127.0.0.1:PORT" once
ready, and writes each message it accepts to DIR/NNNNNN.json: the envelope (mail_from,
rcpt_tos), the raw message as received (raw) and what Python's email parser makes of it
(subject, from, to, date, message_id, content_type, charset, transfer_encoding, body,
defects), so tests check the wire format against an independent parser.

A recipient starting with "reject" makes it answer the DATA with 554 (a refused message).
"""
import argparse
import asyncore
import email
import email.policy
import json
import os
import smtpd
import sys


class Sink(smtpd.SMTPServer):
    def __init__(self, address, directory):
        super().__init__(address, None, decode_data=False)
        self.directory = directory
        self.count = 0

    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        if any(r.startswith("reject") for r in rcpttos):
            return "554 5.7.1 message refused by smtp_sink"
        msg = email.message_from_bytes(data, policy=email.policy.default)
        record = {
            "mail_from": mailfrom,
            "rcpt_tos": rcpttos,
            "raw": data.decode("ascii", "backslashreplace"),
            "subject": str(msg.get("subject", "")),
            "from": str(msg.get("from", "")),
            "to": str(msg.get("to", "")),
            "date": str(msg.get("date", "")),
            "message_id": str(msg.get("message-id", "")),
            "mime_version": str(msg.get("mime-version", "")),
            "content_type": msg.get_content_type(),
            "charset": msg.get_content_charset() or "",
            "transfer_encoding": str(msg.get("content-transfer-encoding", "")),
            "body": msg.get_content(),
            "defects": [type(d).__name__ for d in msg.defects],
        }
        self.count += 1
        path = os.path.join(self.directory, "%06d.json" % self.count)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)  # a reader never sees half a message
        return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--directory", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    sink = Sink(("127.0.0.1", args.port), args.directory)
    port = sink.socket.getsockname()[1]
    print("smtp_sink listening on 127.0.0.1:%d" % port, flush=True)
    asyncore.loop()


if __name__ == "__main__":
    sys.exit(main())
