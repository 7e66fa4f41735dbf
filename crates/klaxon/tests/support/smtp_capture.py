#!/usr/bin/env python3
"""SMTP server for Klaxon's email tests, built on aiosmtpd.

Accepts mail on --host/--port (plain, STARTTLS, or implicit TLS), optionally requiring
AUTH with --user/--password, and appends one JSON line per message to --out: the envelope,
how the client authenticated, whether the session was encrypted, and the message as
Python's email parser reads it (headers decoded, each leaf part's content type and decoded
body). Prints "ready" on stdout once it listens.
"""

import argparse
import email
import email.policy
import hashlib
import hmac
import json
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, AuthResult


class Capture:
    def __init__(self, out, user, password):
        self.out = out
        self.user = user
        self.password = password

    async def auth_CRAM__MD5(self, server, args):
        """CRAM-MD5 (RFC 2195), which aiosmtpd does not ship; the password is the secret."""
        challenge = f"<{os.getpid()}.{time.time_ns()}@capture.klaxon.test>".encode()
        response = await server.challenge_auth(challenge)
        if response is MISSING or not self.user:
            return AuthResult(success=False, handled=False)
        user, _, digest = response.decode().partition(" ")
        expected = hmac.new(self.password.encode(), challenge, hashlib.md5).hexdigest()
        ok = user == self.user and hmac.compare_digest(digest, expected)
        return AuthResult(success=ok, handled=False, auth_data=f"CRAM-MD5 {user}")

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        parts = [
            {"content_type": part.get_content_type(), "charset": part.get_content_charset(),
             "transfer_encoding": part.get("Content-Transfer-Encoding"),
             "body": part.get_content()}
            for part in message.walk()
            if not part.is_multipart()
        ]
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth": session.auth_data,
            # STARTTLS sets session.ssl; implicit TLS shows on the transport.
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "content_type": message.get_content_type(),
            "headers": [[name, str(value)] for name, value in message.items()],
            "parts": parts,
        }
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--mode", choices=["plain", "starttls", "implicit"], default="plain")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--exclude-mechanism", action="append", default=[])
    args = parser.parse_args()

    context = None
    if args.mode != "plain":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    def authenticate(server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode()
        ok = login == args.user and auth_data.password.decode() == args.password
        return AuthResult(success=ok, handled=False, auth_data=f"{mechanism} {login}")

    kwargs = {
        "hostname": args.host,
        "port": args.port,
        "auth_exclude_mechanism": args.exclude_mechanism,
        "auth_require_tls": args.mode != "plain",
        "server_hostname": "capture.klaxon.test",
    }
    if args.user:
        kwargs["authenticator"] = authenticate
        kwargs["auth_required"] = True
    if args.mode == "starttls":
        kwargs["tls_context"] = context
        kwargs["require_starttls"] = True
    elif args.mode == "implicit":
        kwargs["ssl_context"] = context

    controller = Controller(Capture(args.out, args.user, args.password), **kwargs)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
