#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The cost pass's samples (cost.sh, in the guest) as benchmark samples: what the NIC under
test's drivers cost per packet, in guest instructions and in notifications.

    cost.py SHARE KDIR >> bench-raw.tsv

SHARE holds what cost.sh and the insn_count plugin (cpus=on, delta=on) wrote: cost-samples.tsv,
snap-N (per block: address, instructions, executions on each vCPU since the previous snapshot)
and kallsyms. KDIR is the kernel build, whose object files tell which built-in functions are
the C transport's and the virtio core's. Prints one "ROUND CONFIG METRIC VALUE NOTE" line per
metric and test run, as the timed guest script records them (report.py reads both).

The drivers' own code: the modules virtio_net, rvirtio_net and rvirtio_pci, and the functions
of drivers/virtio/virtio_pci_{common,modern,modern_dev}.c (the C transport) and
virtio_ring.c, virtio.c (the rings and the bus, which both transports use), and the
scatterlist functions the drivers call to describe packets to the rings (lib/scatterlist.c and
skb_to_sgvec(): virtio_net calls them where rvirtio_net fills its entries itself, in its own
module, so without them the C driver's share of that work would go uncounted). Counted on CPU 0,
where cost.sh runs the NIC under test and nothing of the peer's. Notifications are the entries
into the transport's notify callback (vp_notify, or rvirtio-pci's Adapter::notify): each one
is a doorbell write, a VM exit on a real host.
"""

import bisect
import collections
import importlib.util
import os
import re
import shutil
import subprocess
import sys

TESTS = ("pktgen", "tcp_tx", "tcp_rx", "rr")
CPU = 0
TRANSPORT_OBJS = ("virtio_pci_common.o", "virtio_pci_modern.o", "virtio_pci_modern_dev.o")
CORE_OBJS = ("virtio_ring.o", "virtio.o")
SG_OBJS = ("lib/scatterlist.o",)
SG_FUNCS = ("__skb_to_sgvec", "skb_to_sgvec", "skb_to_sgvec_nomark")
MODULES = {"virtio_net": "net", "rvirtio_net": "net", "rvirtio_pci": "transport"}


def profile_report():
    """make profile's report.py, whose kallsyms reader this shares."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "profile", "report.py")
    spec = importlib.util.spec_from_file_location("profile_report", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def object_symbols(kdir, objs, where=("drivers", "virtio")):
    names = set()
    for o in objs:
        path = os.path.join(kdir, *where, o)
        if not os.path.exists(path):
            continue
        out = subprocess.run(["nm", "--defined-only", path], capture_output=True, text=True)
        for line in out.stdout.splitlines():
            p = line.split()
            if len(p) == 3 and p[1] in "tT":
                names.add(p[2])
    return names


def demangled(names):
    if not names or not shutil.which("c++filt"):
        return dict(zip(names, names))
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True,
                         text=True).stdout.splitlines()
    return dict(zip(names, out)) if len(out) == len(names) else dict(zip(names, names))


def load_symbols(path, kdir):
    transport = object_symbols(kdir, TRANSPORT_OBJS)
    core = object_symbols(kdir, CORE_OBJS)
    sg = object_symbols(kdir, SG_OBJS, ()) | set(SG_FUNCS)
    syms = profile_report().load_symbols(path)
    rust = [n for _, n, m in syms if m == "rvirtio_pci" and "notify" in n]
    names = demangled(rust)
    notify = set()
    for a, n, m in syms:
        if n == "vp_notify" and not m:
            notify.add(a)
        elif m == "rvirtio_pci" and re.search(r"Adapter<.*>::notify$", names.get(n, "")):
            notify.add(a)
    classes = []
    for a, n, m in syms:
        if m in MODULES:
            classes.append(MODULES[m])
        elif not m and n in transport:
            classes.append("transport")
        elif not m and n in core:
            classes.append("core")
        elif not m and n in sg:
            classes.append("sg")
        else:
            classes.append(None)
    return [s[0] for s in syms], classes, notify


def snapshot_cpu(path, cpu):
    """(vaddr, instructions, executions on CPU cpu) per block of a delta snapshot."""
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            p = line.split()
            execs = int(p[2 + cpu]) if len(p) > 2 + cpu else 0
            if execs:
                yield int(p[0], 16), int(p[1]), execs


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    share, kdir = argv[1], argv[2]
    addrs, classes, notify = load_symbols(os.path.join(share, "kallsyms"), kdir)
    if not notify:
        print("cost.py: no notify callback in kallsyms", file=sys.stderr)
    with open(os.path.join(share, "cost-samples.tsv")) as f:
        samples = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    for s in samples:
        rnd, cfg, test = s[0], s[1], s[2]
        if s[3] == "failed":
            why = s[4] if len(s) > 4 else ""
            value = "n/a" if why == "n/a" else "failed"
            for m in ("drv_insn", "kick_kpkt") + (("pkts_per_kick",) if test == "pktgen" else ()):
                print(f"{rnd}\t{cfg}\t{test}_{m}\t{value}\t{why}")
            continue
        snap, pkts, txp, irqs, note = int(s[3]), int(s[4]), int(s[5]), int(s[6]), s[7]
        per_class = collections.Counter()
        kicks = total = 0
        for vaddr, insns, execs in snapshot_cpu(os.path.join(share, f"snap-{snap}"), CPU):
            n = insns * execs
            total += n
            if vaddr < 1 << 63:
                continue
            i = bisect.bisect_right(addrs, vaddr) - 1
            if i < 0:
                continue
            if classes[i]:
                per_class[classes[i]] += n
            if addrs[i] == vaddr and vaddr in notify:
                kicks += execs
        if pkts <= 0:
            for m in ("drv_insn", "kick_kpkt") + (("pkts_per_kick",) if test == "pktgen" else ()):
                print(f"{rnd}\t{cfg}\t{test}_{m}\tfailed\tno packets")
            continue
        drv = sum(per_class.values())
        print(f"{rnd}\t{cfg}\t{test}_drv_insn\t{drv / pkts:.1f}\t"
              f"transport {per_class['transport'] / pkts:.1f}, net driver "
              f"{per_class['net'] / pkts:.1f}, rings and bus {per_class['core'] / pkts:.1f}, "
              f"scatterlists {per_class['sg'] / pkts:.1f}; "
              f"CPU {CPU} in all {total / pkts:.0f}; {pkts} packets, {irqs} interrupts ({note})")
        print(f"{rnd}\t{cfg}\t{test}_kick_kpkt\t{kicks * 1000 / pkts:.1f}\t"
              f"{kicks} notifications, {pkts} packets")
        if test == "pktgen":
            value = f"{txp / kicks:.1f}" if kicks else "failed"
            print(f"{rnd}\t{cfg}\tpktgen_pkts_per_kick\t{value}\t"
                  f"{txp} frames sent, {kicks} notifications")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
