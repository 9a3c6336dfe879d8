#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send one QMP command to QEMU from inside the test guest.

    qmp.py COMMAND [JSON-ARGUMENTS]

Talks to the guest's QMP agent (selftests/guest/qmp-agent, started by guest-init), which
holds the serial line to QEMU's monitor. Prints the command's "return" value as JSON and exits
0, or prints the error and exits 1. QMP events are in $RVIRTIO_QMP_EVENTS, one per line.
"""

import json
import os
import socket
import sys
import time

SOCKET = os.environ.get("RVIRTIO_QMP_SOCKET", "/run/rvirtio-qmp.sock")
TIMEOUT = 30.0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    command = {"execute": argv[1], "id": f"rv-{os.getpid()}-{time.monotonic_ns()}"}
    if len(argv) > 2:
        command["arguments"] = json.loads(argv[2])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect(SOCKET)
    s.sendall(json.dumps(command).encode() + b"\n")
    buf = b""
    try:
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except socket.timeout:
        pass
    if b"\n" not in buf:
        print(f"qmp.py: no answer to {argv[1]} within {TIMEOUT}s", file=sys.stderr)
        return 1
    msg = json.loads(buf.split(b"\n", 1)[0])
    if "error" in msg:
        print(json.dumps(msg["error"]), file=sys.stderr)
        return 1
    print(json.dumps(msg.get("return")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
