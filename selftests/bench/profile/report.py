#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turns the snapshots of the insn_count plugin into guest instructions per frame sent (or per
KB received: the unit guest.sh names), by configuration and by kernel symbol (see profile.sh).

    report.py DIR [TOP]

DIR holds what guest.sh and the plugin wrote: unit, labels, packets, kallsyms, snap-N.
"""

import bisect
import collections
import re
import shutil
import subprocess
import sys


def load_symbols(path):
    syms = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) < 3 or p[1] in "aAuUwWvV" or p[2].startswith("__pfx_"):
                continue
            syms.append((int(p[0], 16), p[2], p[3].strip("[]") if len(p) > 3 else ""))
    syms.sort()
    return syms


def load_snapshot(path):
    blocks, translations = {}, 0
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                translations = int(line.split()[1])
                continue
            v, n, c = line.split()
            blocks[(int(v, 16), int(n))] = int(c)
    return blocks, translations


def demangle(names):
    """Rust symbols (v0 mangling) read as paths, without the crates' hashes."""
    if not names or not shutil.which("c++filt"):
        return {n: n for n in names}
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True,
                         text=True).stdout.splitlines()
    if len(out) != len(names):
        return {n: n for n in names}
    return {n: re.sub(r"\[[0-9a-f]{16}\]", "", d) for n, d in zip(names, out)}


def main():
    d = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    syms = load_symbols(f"{d}/kallsyms")
    addrs = [s[0] for s in syms]

    def where(vaddr):
        if vaddr < 1 << 63:
            return ("[user space]", ""), False
        i = bisect.bisect_right(addrs, vaddr) - 1
        if i < 0:
            return ("[unknown]", ""), False
        return (syms[i][1], syms[i][2]), addrs[i] == vaddr

    try:
        with open(f"{d}/unit") as f:
            unit = f.read().strip()
    except FileNotFoundError:
        unit = "frame sent (pktgen, 64-byte UDP)"
    short = unit.split(" (")[0]
    per = short.split()[0]
    rate = "pps" if per == "frame" else "Mbit/s"
    labels = []
    with open(f"{d}/labels") as f:
        for line in f:
            n, label = line.rstrip("\n").split("\t")
            labels.append((label, int(n)))
    runs = []
    seen = collections.Counter()
    with open(f"{d}/packets") as f:
        for line in f:
            cfg, frames, pps = line.rstrip("\n").split("\t")
            seen[cfg] += 1
            name = cfg if seen[cfg] == 1 else f"{cfg}#{seen[cfg]}"
            # The n-th run of a configuration has its n-th pair of snapshots.
            starts = sorted(n for lab, n in labels if lab == f"{cfg} start")
            runs.append((name, cfg, int(frames), pps, starts[seen[cfg] - 1]))

    insns, calls, totals, trans = {}, {}, {}, {}
    for name, cfg, frames, pps, k in runs:
        a, ta = load_snapshot(f"{d}/snap-{k}")
        b, tb = load_snapshot(f"{d}/snap-{k + 1}")
        per_sym, per_call = collections.Counter(), collections.Counter()
        for key, c in b.items():
            delta = c - a.get(key, 0)
            if delta <= 0:
                continue
            sym, at_start = where(key[0])
            per_sym[sym] += delta * key[1]
            if at_start:
                per_call[sym] += delta
        insns[name] = {s: v / frames for s, v in per_sym.items()}
        calls[name] = {s: v / frames for s, v in per_call.items()}
        totals[name] = sum(per_sym.values()) / frames
        trans[name] = tb - ta

    names = [r[0] for r in runs]
    base = names[0]
    print(f"Guest instructions per {unit}: the whole guest (both ends, user space,")
    print("interrupts and timers), counted by QEMU's insn_count plugin:")
    for name, cfg, frames, pps, _ in runs:
        print(f"  {name:8s} {totals[name]:8.0f}  x{totals[name] / totals[base]:.3f}"
              f"   ({frames} {per}s, {pps or '?'} {rate} on the host clock,"
              f" {trans[name]} blocks translated meanwhile)")

    # A configuration profiled more than once (PROF_CONFIGS="c_c r_r c_c r_r ..."): its mean and
    # spread, as the totals move by a percent or two from run to run (see benchmarks.rst).
    by_cfg = collections.defaultdict(list)
    for name, cfg, *_ in runs:
        by_cfg[cfg].append(totals[name])
    if any(len(v) > 1 for v in by_cfg.values()):
        first = runs[0][1]
        mean = {c: sum(v) / len(v) for c, v in by_cfg.items()}
        print("\nPer configuration, over its runs: mean [min-max], mean against the first's:")
        for c, v in by_cfg.items():
            print(f"  {c:8s} {mean[c]:8.0f}  [{min(v):.0f}-{max(v):.0f}]  x{mean[c] / mean[first]:.3f}"
                  f"   ({len(v)} run{'s' if len(v) > 1 else ''})")

    every = set()
    for name in names:
        every |= set(insns[name])
    dem = demangle(sorted({s[0] for s in every}))

    def label(s):
        text = dem.get(s[0], s[0])
        return (text + (f" [{s[1]}]" if s[1] else ""))[:90]

    def table(title, rows, values, digits=1):
        print(f"\n{title}")
        print(f"  {'':90s}" + "".join(f"{n:>9s}" for n in names))
        for s in rows:
            print(f"  {label(s):90s}"
                  + "".join(f"{values[n].get(s, 0):9.{digits}f}" for n in names))

    by_total = sorted(every, key=lambda s: -sum(insns[n].get(s, 0) for n in names))
    table(f"Top {top} symbols, instructions per {short}:", by_total[:top], insns)
    diff = sorted(every, key=lambda s: -max(abs(insns[n].get(s, 0) - insns[base].get(s, 0))
                                            for n in names))
    diff = [s for s in diff[:top]
            if max(abs(insns[n].get(s, 0) - insns[base].get(s, 0)) for n in names) >= 1]
    table(f"Largest differences from {base}, instructions per {short}:", diff, insns)
    # Interrupts, polls and notifications: how often, not how much, and set by the device's
    # timing as much as by the driver (the device runs in QEMU's time, not the guest's).
    events = [s for s in every
              if s[0] in ("vring_interrupt", "__napi_poll", "vp_notify", "virtqueue_notify")
              or (s[1] == "rvirtio_pci" and dem.get(s[0], "").endswith("::notify"))]
    table(f"Calls per {short} (interrupts, NAPI polls, notifications):", sorted(events), calls,
          3)


if __name__ == "__main__":
    main()
