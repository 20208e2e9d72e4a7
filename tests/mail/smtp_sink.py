#!/usr/bin/python3
"""A real SMTP server on loopback for tests, built on aiosmtpd.

Run with Debian's /usr/bin/python3 (python3-aiosmtpd). It listens on
127.0.0.1 (port 0: the kernel picks a free one), prints the port on stdout
once it accepts connections, and serves until SIGTERM or SIGINT.

Each accepted message becomes two files in DIR, numbered in arrival order:
  msg-0001.eml   the message exactly as received (CRLF, dot-stuffing undone)
  msg-0001.json  {"connection": n, "mail_from": ..., "rcpt_tos": [...],
                  "auth_user": ... or null, "tls": true/false}
The .json is written last (atomically), so a reader waiting for it sees a
complete .eml. Every accepted connection adds a line "connection <n>" to
DIR/connections.log, so tests can count connections, and each closed one
(by either side) a line "closed <n>" to DIR/closed.log once the server has
finished with it: nothing more is received on it after that line.

Options:
  --reject-rcpt ADDR=CODE  answer RCPT TO:<ADDR> with CODE (4xx or 5xx); repeatable
  --reject-data ADDR=CODE  accept ADDR but answer the end of data with CODE
  --tls starttls|implicit  offer STARTTLS (and require it), or TLS from the
                           first byte; needs --cert and --key (PEM)
  --auth USER:PASS         require AUTH (PLAIN or LOGIN) with these credentials
  --idle-timeout SECONDS   close a connection idle this long (421), default 300
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def parse_codes(items, what):
    codes = {}
    for item in items or []:
        addr, sep, code = item.rpartition("=")
        if not sep or not addr or not code.isdigit() or code[0] not in "45":
            sys.exit(f"smtp_sink: bad {what} {item!r}: want ADDRESS=4xx|5xx")
        codes[addr.lower()] = int(code)
    return codes


def reply(code, text):
    klass = str(code)[0]
    return f"{code} {klass}.0.0 {text}"


class Sink:
    def __init__(self, directory, reject_rcpt, reject_data):
        self.directory = directory
        self.reject_rcpt = reject_rcpt
        self.reject_data = reject_data
        self.connections = 0
        self.messages = 0

    def connection_opened(self):
        self.connections += 1
        with open(os.path.join(self.directory, "connections.log"), "a") as log:
            log.write(f"connection {self.connections}\n")
        return self.connections

    def connection_closed(self, n):
        with open(os.path.join(self.directory, "closed.log"), "a") as log:
            log.write(f"closed {n}\n")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self.reject_rcpt.get(address.lower())
        if code:
            return reply(code, f"<{address}>: recipient rejected by the test sink")
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            code = self.reject_data.get(rcpt.lower())
            if code:
                return reply(code, f"message for <{rcpt}> rejected by the test sink")
        self.messages += 1
        stem = os.path.join(self.directory, f"msg-{self.messages:04d}")
        with open(stem + ".eml", "wb") as f:
            f.write(envelope.original_content)
        meta = {
            "connection": getattr(server, "sink_connection", 0),
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth_user": session.auth_data.login.decode()
            if isinstance(session.auth_data, LoginPassword) else None,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
        }
        with open(stem + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(stem + ".json.tmp", stem + ".json")
        return f"250 2.0.0 OK queued as {self.messages}"


def make_smtp_class(sink):
    class CountingSMTP(SMTP):
        def connection_made(self, transport):
            # aiosmtpd calls this again on the same object after STARTTLS.
            if getattr(self, "sink_connection", None) is None:
                self.sink_connection = sink.connection_opened()
            super().connection_made(transport)

        def connection_lost(self, error):
            # aiosmtpd cancels the session's task here: no message follows.
            super().connection_lost(error)
            if not getattr(self, "sink_closed", False):
                self.sink_closed = True
                sink.connection_closed(self.sink_connection)

    return CountingSMTP


def make_authenticator(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        # handled=False: aiosmtpd answers a failure itself (535).
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    return authenticate


async def serve(args):
    sink = Sink(args.dir, parse_codes(args.reject_rcpt, "--reject-rcpt"),
                parse_codes(args.reject_data, "--reject-data"))
    context = None
    if args.tls != "none":
        if not (args.cert and args.key):
            sys.exit("smtp_sink: --tls needs --cert and --key")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
    kwargs = {"hostname": "sink.example.net", "decode_data": False, "timeout": args.idle_timeout}
    if args.tls == "starttls":
        kwargs.update(tls_context=context, require_starttls=True)
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not sep:
            sys.exit("smtp_sink: --auth wants USER:PASS")
        # aiosmtpd 1.4 counts only STARTTLS as TLS when it guards AUTH; an
        # implicit TLS connection is TLS from the start anyway.
        kwargs.update(authenticator=make_authenticator(user, password), auth_required=True,
                      auth_require_tls=args.tls == "starttls")
    smtp_class = make_smtp_class(sink)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: smtp_class(sink, **kwargs), host="127.0.0.1",
                                      port=args.port,
                                      ssl=context if args.tls == "implicit" else None)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main():
    # aiosmtpd 1.4 warns about its own use of Session.login_data.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    # ... and about AUTH without STARTTLS (an implicit TLS connection is TLS).
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="where received messages are written")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--reject-rcpt", action="append", metavar="ADDR=CODE")
    parser.add_argument("--reject-data", action="append", metavar="ADDR=CODE")
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--auth", metavar="USER:PASS")
    parser.add_argument("--idle-timeout", type=float, default=300)
    args = parser.parse_args()
    if not os.path.isdir(args.dir):
        sys.exit(f"smtp_sink: {args.dir} is not a directory")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
