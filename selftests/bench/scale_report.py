#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The scale benchmark's results: raw guest samples in, scale.json and the table out.

    scale_report.py build OUT.json VEC=RAW.tsv:META.tsv... [-- KEY=VALUE...]
    scale_report.py table SCALE.json

RAW.tsv (selftests/bench/scale-guest.sh) has one sample a line, "N ROUND TRANSPORT METRIC
VALUE" (tabs), VALUE a number or "failed"; META.tsv "KEY VALUE" lines; VEC names the MSI-X
setting of that boot (default, 2, 0...). KEY=VALUE adds facts of the host.

Each cell (setting x N x transport x metric) holds the median, min and max over the rounds and
how many rounds failed. Costs are also given per device (the cell's samples divided by N, then
the median), and their growth from one N to the next is the ratio of the per-device medians:
1.00 is linear growth in the total. Rust/C is the ratio of the medians.
"""

import json
import statistics
import sys

TRANSPORTS = {"c": "C virtio-pci", "rust": "rvirtio-pci"}
# Metric, title, unit, whether shown per device too.
METRICS = [
    ("bind_ms", "bind all, until disks are up", "ms"),
    ("unbind_ms", "unbind all, until disks gone", "ms"),
    ("avail_kb", "MemAvailable drop", "KB"),
    ("slab_kb", "Slab growth", "KB"),
    ("msi_vectors", "MSI-X vectors", ""),
    ("irq_lines", "/proc/interrupts lines", ""),
    ("intx_lines", "INTx lines in use", ""),
    ("mq_queues", "virtio_blk request queues", ""),
]
# Which rows each metric gets: the total over the N devices, per device, or both; and the
# metrics with a Rust/C row.
SHOWN = {"bind_ms": ("total", "per_device"), "unbind_ms": ("total", "per_device"),
         "avail_kb": ("per_device",), "slab_kb": ("per_device",),
         "msi_vectors": ("per_device",), "irq_lines": ("per_device",), "intx_lines": ("total",),
         "mq_queues": ("first",)}
RATIO = ("bind_ms", "unbind_ms", "avail_kb", "slab_kb")


def stats(values):
    nums = [v for v in values if isinstance(v, (int, float))]
    cell = {"samples": values, "failed": len(values) - len(nums)}
    if nums:
        cell.update(median=statistics.median(nums), min=min(nums), max=max(nums))
    return cell


def parse_raw(path):
    data = {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 5:
                continue
            n, _rnd, tr, metric, value = parts[:5]
            try:
                v = float(value)
                v = int(v) if v.is_integer() else v
            except ValueError:
                v = value
            data.setdefault(int(n), {}).setdefault(tr, {}).setdefault(metric, []).append(v)
    return data


def parse_meta(path):
    meta = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            if k:
                meta[k] = v
    return meta


def build(out, args):
    host = {}
    if "--" in args:
        i = args.index("--")
        args, extra = args[:i], args[i + 1:]
        host = dict(a.split("=", 1) for a in extra)
    settings = {}
    for a in args:
        vec, _, paths = a.partition("=")
        raw, _, meta = paths.partition(":")
        data = parse_raw(raw)
        cells = {}
        for n, trs in sorted(data.items()):
            for tr, metrics in trs.items():
                for metric, values in metrics.items():
                    c = stats(values)
                    c["per_device"] = stats([v / n if isinstance(v, (int, float)) else v
                                             for v in values])
                    cells.setdefault(str(n), {}).setdefault(tr, {})[metric] = c
        settings[vec] = {"meta": parse_meta(meta), "cells": cells}
    result = {"host": host, "transports": TRANSPORTS,
              "metrics": {m: {"title": t, "unit": u} for m, t, u in METRICS},
              "settings": settings}
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    return result


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 100 or float(v).is_integer():
        return f"{v:.0f}"
    return f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def cell_text(c):
    if not c or "median" not in c:
        return "failed" if c else "-"
    s = fmt(c["median"])
    if c["min"] != c["max"]:
        s += f" [{fmt(c['min'])}-{fmt(c['max'])}]"
    if c["failed"]:
        s += f" ({c['failed']} failed)"
    return s


def ratio(a, b):
    # Only of positive costs: a memory difference can come out at or below 0 (noise).
    if not a or not b or "median" not in a or "median" not in b or b["median"] <= 0 \
            or a["median"] < 0:
        return "-"
    return f"{a['median'] / b['median']:.2f}"


def table(result):
    lines = []
    h = result.get("host", {})
    lines.append("Scale: virtio-blk-pci devices of 4 queues (null backends) bound to each "
                 "transport, virtio_blk on top")
    lines.append(f"accel {h.get('accel', '?')}, {h.get('rounds', '?')} rounds, "
                 f"run took {h.get('runtime_s', '?')} s, {h.get('date', '')}")
    lines.append("cells: median [min-max] over the rounds; memory is noisy (page and slab "
                 "caches, per-CPU lists): read its medians, not one round")
    lines.append("growth: per-device median at N over that at the previous N "
                 "(1.00 = the total grows linearly)")
    for vec, s in result["settings"].items():
        cells = s["cells"]
        ns = sorted(cells, key=int)
        meta = s["meta"]
        lines.append("")
        lines.append(f"== vectors={vec} (MSI-X table per device: {meta.get('msix_table') or 'none'}"
                     f", {meta.get('cpus', '?')} vCPUs)")
        w = 22
        head = f"{'':36}{'':6}" + "".join(f"{'N=' + n:>{w}}" for n in ns) + "   growth " + \
            " ".join(f"{b}/{a}" for a, b in zip(ns, ns[1:]))
        lines.append(head)
        for metric, title, unit in METRICS:
            if metric == "intx_lines" and not any(
                    cells[n].get(t, {}).get(metric, {}).get("max") for n in ns for t in TRANSPORTS):
                continue
            for kind in SHOWN[metric]:
                label = f"{title}{', ' + unit if unit else ''}"
                if kind == "per_device":
                    label = "  per device" if "total" in SHOWN[metric] else label + " per dev"
                elif kind == "first":
                    label += " (1st dev)"
                for tr, trname in (("c", "C"), ("rust", "Rust")):
                    row = []
                    for n in ns:
                        c = cells[n].get(tr, {}).get(metric)
                        row.append(cell_text((c or {}).get("per_device") if kind == "per_device" else c))
                    growth = []
                    if kind == "per_device":
                        for a, b in zip(ns, ns[1:]):
                            growth.append(ratio(cells[b].get(tr, {}).get(metric, {}).get("per_device"),
                                                cells[a].get(tr, {}).get(metric, {}).get("per_device")))
                    lines.append(f"{label if tr == 'c' else '':36}{trname:6}" +
                                 "".join(f"{x:>{w}}" for x in row) + "   " + " ".join(growth))
                if metric in RATIO and kind == SHOWN[metric][-1]:
                    rs = [ratio(cells[n].get("rust", {}).get(metric), cells[n].get("c", {}).get(metric))
                          for n in ns]
                    lines.append(f"{'':36}{'R/C':6}" + "".join(f"{x:>{w}}" for x in rs))
    return "\n".join(lines)


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "build":
        print(table(build(sys.argv[2], sys.argv[3:])))
    elif len(sys.argv) == 3 and sys.argv[1] == "table":
        with open(sys.argv[2]) as f:
            print(table(json.load(f)))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
