#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Inject a DEVICE_NEEDS_RESET and time how long the device takes to work again.

    recovery_wait.py DEBUGFS_DIR QUEUE ping TARGET [KNOB]
    recovery_wait.py DEBUGFS_DIR QUEUE read BLOCK_DEVICE

Writes QUEUE to DEBUGFS_DIR/inject (rvirtio-pci's fault injection), or with KNOB writes 1 to
that file instead (rvirtio_net's fail_tx/times: it acts on the next packet sent, so one UDP
packet to TARGET follows), waits until the transport has seen the device's NEEDS_RESET
(DEBUGFS_DIR/recovery, needs_reset_events), then:

- ping: sends an ICMP echo to TARGET every 2 ms until one is answered;
- read: waits for the recovery to complete (recoveries), then reads 4 KiB with O_DIRECT.
  I/O must not be queued to the broken device: QEMU never completes it, and upstream
  virtio_blk's reset_prepare waits for every request in flight.

Prints the milliseconds from the injection to the first echo answered (or read done) and
exits 0; exits 1 when nothing works within 10 s.
"""

import mmap
import os
import select
import socket
import struct
import sys
import time

TIMEOUT = 10.0


def counter(d, name):
    with open(os.path.join(d, "recovery")) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key == name:
                return int(value)
    raise KeyError(name)


def wait_counter(d, name, above, t0):
    while counter(d, name) <= above:
        if time.monotonic() - t0 > TIMEOUT:
            return False
        time.sleep(0.001)
    return True


def icmp_checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ping_until_answered(target, t0):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    seq = 0
    while time.monotonic() - t0 < TIMEOUT:
        seq = (seq + 1) & 0xFFFF
        head = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        payload = b"rvirtio-recovery"
        pkt = struct.pack("!BBHHH", 8, 0, icmp_checksum(head + payload), ident, seq) + payload
        try:
            s.sendto(pkt, (target, 0))
        except OSError:
            pass  # no buffer space while the interface is stopped
        deadline = time.monotonic() + 0.002
        while True:
            left = deadline - time.monotonic()
            r, _, _ = select.select([s], [], [], max(0.0, left))
            if not r:
                break
            data = s.recv(2048)
            ihl = (data[0] & 0xF) * 4
            typ, _, _, rid, _ = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if typ == 0 and rid == ident:
                return True
    return False


def read_direct(dev):
    buf = mmap.mmap(-1, 4096)
    fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
    try:
        return os.preadv(fd, [buf], 0) == 4096
    finally:
        os.close(fd)


def main(argv):
    if len(argv) not in (5, 6) or argv[3] not in ("ping", "read"):
        print(__doc__, file=sys.stderr)
        return 2
    d, queue, mode, target = argv[1:5]
    knob = argv[5] if len(argv) == 6 else None
    events = counter(d, "needs_reset_events")
    recoveries = counter(d, "recoveries")
    t0 = time.monotonic()
    if knob:
        with open(knob, "w") as f:
            f.write("1")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.sendto(b"rvirtio-inject", (target, 9))
    else:
        with open(os.path.join(d, "inject"), "w") as f:
            f.write(queue)
    if not wait_counter(d, "needs_reset_events", events, t0):
        print("the device never reported NEEDS_RESET", file=sys.stderr)
        return 1
    if mode == "ping":
        ok = ping_until_answered(target, t0)
    else:
        ok = wait_counter(d, "recoveries", recoveries, t0) and read_direct(target)
    if not ok:
        print(f"no {mode} within {TIMEOUT} s", file=sys.stderr)
        return 1
    print(f"{(time.monotonic() - t0) * 1000:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
