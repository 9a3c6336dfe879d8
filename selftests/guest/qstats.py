#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Per-queue and device statistics of a network interface from the netdev generic netlink
family (what `ynl --family netdev --dump qstats-get` shows), with the standard library alone.

    qstats.py IFNAME

Prints one JSON object:

    {"ifindex": N,
     "before": {"rx-packets": ..., "rx-bytes": ..., "tx-packets": ..., "tx-bytes": ...},
     "device": {...},                       # qstats-get, device scope: base + active queues
     "queues": {"rx": {"0": {...}, ...}, "tx": {...}},   # qstats-get, scope queue
     "after": {...}}

"before" and "after" are the interface counters (/sys/class/net/IFNAME/statistics, i.e.
ndo_get_stats64) read just before the first dump and just after the last one, so that on a
quiet link the device totals must equal them, and on a busy one lie between them. "device" is
absent if the driver reports no base statistics; "queues" is empty while the link is down.
Exits 2 when the family or the interface cannot be queried.
"""

import json
import os
import socket
import struct
import sys

# include/uapi/linux/netlink.h, genetlink.h
NETLINK_GENERIC = 16
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2

# include/uapi/linux/netdev.h
NETDEV_FAMILY_NAME = "netdev"
NETDEV_CMD_QSTATS_GET = 12
NETDEV_A_QSTATS_IFINDEX = 1
NETDEV_A_QSTATS_QUEUE_TYPE = 2
NETDEV_A_QSTATS_QUEUE_ID = 3
NETDEV_A_QSTATS_SCOPE = 4
NETDEV_QSTATS_SCOPE_QUEUE = 1
QUEUE_TYPES = {0: "rx", 1: "tx"}
# The counters, from NETDEV_A_QSTATS_RX_PACKETS (8) on, named as in the netdev.yaml spec.
COUNTERS = [
    "rx-packets", "rx-bytes", "tx-packets", "tx-bytes", "rx-alloc-fail", "rx-hw-drops",
    "rx-hw-drop-overruns", "rx-csum-complete", "rx-csum-unnecessary", "rx-csum-none",
    "rx-csum-bad", "rx-hw-gro-packets", "rx-hw-gro-bytes", "rx-hw-gro-wire-packets",
    "rx-hw-gro-wire-bytes", "rx-hw-drop-ratelimits", "tx-hw-drops", "tx-hw-drop-errors",
    "tx-csum-none", "tx-needs-csum", "tx-hw-gso-packets", "tx-hw-gso-bytes",
    "tx-hw-gso-wire-packets", "tx-hw-gso-wire-bytes", "tx-hw-drop-ratelimits", "tx-stop",
    "tx-wake",
]
FIRST_COUNTER = 8


class NetlinkError(Exception):
    pass


def attr(kind, payload):
    """One netlink attribute, padded to 4 bytes."""
    a = struct.pack("=HH", 4 + len(payload), kind) + payload
    return a + b"\0" * (-len(a) % 4)


def parse_attrs(data):
    """The attributes in `data`, as {type: payload} (nesting and byte order flags masked)."""
    out = {}
    off = 0
    while off + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, off)
        if length < 4:
            break
        out[kind & 0x3FFF] = data[off + 4:off + length]
        off += (length + 3) & ~3
    return out


def uint(payload):
    """A u32 or u64 attribute (the netlink `uint` type takes either size)."""
    if len(payload) == 4:
        return struct.unpack("=I", payload)[0]
    if len(payload) == 8:
        return struct.unpack("=Q", payload)[0]
    raise NetlinkError(f"integer attribute of {len(payload)} bytes")


class Genl:
    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.sock.bind((0, 0))
        self.seq = 0

    def request(self, family, cmd, attrs, dump):
        """Sends a request; returns the attributes of every answer message."""
        self.seq += 1
        body = struct.pack("=BBH", cmd, 1, 0) + b"".join(attrs)
        flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else NLM_F_ACK)
        msg = struct.pack("=IHHII", 16 + len(body), family, flags, self.seq, 0) + body
        self.sock.send(msg)
        answers = []
        while True:
            data = self.sock.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                length, kind, _flags, seq, _pid = struct.unpack_from("=IHHII", data, off)
                if length < 16:
                    raise NetlinkError("short netlink message")
                payload = data[off + 16:off + length]
                off += (length + 3) & ~3
                if seq != self.seq:
                    continue
                if kind == NLMSG_ERROR:
                    err = struct.unpack_from("=i", payload)[0]
                    if err:
                        raise NetlinkError(f"{os.strerror(-err)} ({err})")
                    return answers  # the ACK of a request that was not a dump
                if kind == NLMSG_DONE:
                    err = struct.unpack_from("=i", payload)[0] if len(payload) >= 4 else 0
                    if err:
                        raise NetlinkError(f"{os.strerror(-err)} ({err})")
                    return answers
                answers.append(parse_attrs(payload[4:]))  # after the genetlink header
                if not dump:
                    return answers

    def family(self, name):
        a = self.request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
                         [attr(CTRL_ATTR_FAMILY_NAME, name.encode() + b"\0")], dump=False)
        if not a or CTRL_ATTR_FAMILY_ID not in a[0]:
            raise NetlinkError(f"no family {name}")
        return struct.unpack("=H", a[0][CTRL_ATTR_FAMILY_ID][:2])[0]


def counters(attrs):
    out = {}
    for kind, payload in attrs.items():
        i = kind - FIRST_COUNTER
        if 0 <= i < len(COUNTERS):
            out[COUNTERS[i]] = uint(payload)
    return out


def qstats(genl, family, ifindex, scope):
    attrs = [attr(NETDEV_A_QSTATS_IFINDEX, struct.pack("=I", ifindex))]
    if scope:
        attrs.append(attr(NETDEV_A_QSTATS_SCOPE, struct.pack("=I", scope)))
    return genl.request(family, NETDEV_CMD_QSTATS_GET, attrs, dump=True)


def sysfs_counters(ifname):
    out = {}
    for name in ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes"):
        with open(f"/sys/class/net/{ifname}/statistics/{name}") as f:
            out[name.replace("_", "-")] = int(f.read())
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    ifname = sys.argv[1]
    try:
        ifindex = socket.if_nametoindex(ifname)
        genl = Genl()
        family = genl.family(NETDEV_FAMILY_NAME)
        before = sysfs_counters(ifname)
        device = qstats(genl, family, ifindex, 0)
        per_queue = qstats(genl, family, ifindex, NETDEV_QSTATS_SCOPE_QUEUE)
        after = sysfs_counters(ifname)
    except (OSError, NetlinkError) as e:
        print(f"qstats.py: {ifname}: {e}", file=sys.stderr)
        sys.exit(2)
    out = {"ifindex": ifindex, "before": before, "queues": {"rx": {}, "tx": {}},
           "after": after}
    for d in device:
        if uint(d.get(NETDEV_A_QSTATS_IFINDEX, b"\0\0\0\0")) == ifindex:
            out["device"] = counters(d)
    for q in per_queue:
        kind = QUEUE_TYPES.get(uint(q[NETDEV_A_QSTATS_QUEUE_TYPE]), "unknown")
        qid = str(uint(q[NETDEV_A_QSTATS_QUEUE_ID]))
        if qid in out["queues"].setdefault(kind, {}):
            print(f"qstats.py: {kind} queue {qid} reported twice", file=sys.stderr)
            sys.exit(2)
        out["queues"][kind][qid] = counters(q)
    json.dump(out, sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
