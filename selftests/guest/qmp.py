#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send one QMP command to QEMU from inside the test guest.

    qmp.py COMMAND [JSON-ARGUMENTS]

run-vm connects the guest's ttyS2 to a QMP monitor of QEMU. Prints the command's "return"
value as JSON and exits 0, or prints the error and exits 1. Events that arrive meanwhile are
skipped: responses are matched by id.
"""

import json
import os
import select
import sys
import termios
import time
import tty

PORT = "/dev/ttyS2"
TIMEOUT = 30.0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    command = {"execute": argv[1], "id": f"rv-{os.getpid()}-{time.monotonic_ns()}"}
    if len(argv) > 2:
        command["arguments"] = json.loads(argv[2])
    fd = os.open(PORT, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    termios.tcflush(fd, termios.TCIFLUSH)
    # The monitor may still be in capabilities mode; if it is not, this only adds an error
    # response with another id, which we ignore.
    caps = {"execute": "qmp_capabilities", "id": "rv-caps"}
    os.write(fd, (json.dumps(caps) + "\n" + json.dumps(command) + "\n").encode())
    buf = b""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 4096)
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            line = line.strip()
            if not line.startswith(b"{"):
                continue
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            if msg.get("id") != command["id"]:
                continue
            if "error" in msg:
                print(json.dumps(msg["error"]), file=sys.stderr)
                return 1
            print(json.dumps(msg.get("return")))
            return 0
    print(f"qmp.py: no answer to {argv[1]} within {TIMEOUT}s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
