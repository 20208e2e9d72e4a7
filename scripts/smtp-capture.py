#!/usr/bin/python3
"""The demo's local SMTP capture: a real SMTP server (Debian's python3-aiosmtpd)
on 127.0.0.1 that accepts every message and keeps it as DIR/NNNN.eml, which
any mail reader opens. Prints the port once ready. `switchboard demo
--smtp-capture scripts/smtp-capture.py` starts it; nothing leaves the machine.
To use a real relay instead, set [mail] relay in the data directory's
switchboard.toml (docs/email-guide.md)."""
import os
import signal
import sys

from aiosmtpd.controller import Controller


class Capture:
    def __init__(self, directory):
        self.directory = directory
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        path = os.path.join(self.directory, f"{self.n:06d}.eml")
        with open(path + ".tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.replace(path + ".tmp", path)
        return "250 2.0.0 captured"


def main():
    directory = sys.argv[1]
    os.makedirs(directory, exist_ok=True)
    import socket
    with socket.socket() as s:  # a free port on loopback
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Capture(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    # The starter reads only the port; later output must not hit a closed pipe.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    try:
        signal.pause()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
