#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The benchmark's results: raw guest samples in, bench.json and the table out.

    report.py build RAW.tsv META.tsv OUT.json [KEY=VALUE...]   writes OUT.json, prints the table
    report.py table BENCH.json                                  prints the table again
    report.py check BENCH.json                                  checks every key is there

RAW.tsv has one sample a line, "ROUND CONFIG METRIC VALUE NOTE" (tabs), VALUE a number or
n/a, never, failed (round 0 is the warm-up, left out); META.tsv "KEY VALUE" lines from the
guest; KEY=VALUE adds facts of the host.
Each cell (metric x configuration) gets a status: ok (median, min, max of the numeric samples,
"failed" counting the others), n/a (not measurable there: no driver, no multiqueue), never (the
device never came back) or failed. Ratios are configuration / C/C, of the medians; the noise of
a metric is how far C/C measured again (c_c2) lands from C/C.
"""

import json
import statistics
import sys

# Configurations, in the table's column order.
CONFIGS = {
    "c_c": {"label": "C/C", "transport": "virtio-pci", "driver": "virtio_net",
            "title": "C virtio-pci + C virtio_net"},
    "c_c2": {"label": "C/C again", "transport": "virtio-pci", "driver": "virtio_net",
             "title": "the same, measured again (noise)"},
    "r_c": {"label": "R/C", "transport": "rvirtio-pci", "driver": "virtio_net",
            "title": "rvirtio-pci + C virtio_net"},
    "c_r": {"label": "C/R", "transport": "virtio-pci", "driver": "rvirtio_net",
            "title": "C virtio-pci + rvirtio_net"},
    "r_r": {"label": "R/R", "transport": "rvirtio-pci", "driver": "rvirtio_net",
            "title": "rvirtio-pci + rvirtio_net"},
}
BASELINE = "c_c"
NOISE = "c_c2"

# "diagnostic": a count that explains the measurements, not one of them (and not part of the
# noise band). "goal": where Rust is to be at least as fast as C (packets per second, TCP
# throughput, transactions per second).
METRICS = {
    "tx_kpps": {"title": "UDP 64 B TX (pktgen)", "unit": "kpps", "better": "higher",
                "goal": True},
    "rx_kpps": {"title": "UDP 64 B RX at the peer", "unit": "kpps", "better": "higher"},
    "tcp_tx_mbps": {"title": "TCP 1 stream, to the peer", "unit": "Mbit/s", "better": "higher",
                    "goal": True},
    "tcp_rx_mbps": {"title": "TCP 1 stream, from the peer", "unit": "Mbit/s", "better": "higher",
                    "goal": True},
    "tcp_mq_mbps": {"title": "TCP N streams, N queues", "unit": "Mbit/s", "better": "higher",
                    "goal": True},
    "cpu_s_per_gb": {"title": "guest CPU per GB (TCP to peer)", "unit": "CPU s/GB",
                     "better": "lower"},
    "ping_rtt_us": {"title": "ping RTT, average", "unit": "us", "better": "lower"},
    "tcp_rr_tps": {"title": "TCP request/response, 1 B", "unit": "trans/s", "better": "higher",
                   "goal": True},
    "probe_ms": {"title": "probe: bind to first ping", "unit": "ms", "better": "lower"},
    "recovery_ms": {"title": "NEEDS_RESET to first ping", "unit": "ms", "better": "lower"},
    "pktgen_irq_kpkt": {"title": "NIC interrupts, pktgen", "unit": "per 1000 packets",
                        "better": "lower", "diagnostic": True},
    "tcp_tx_irq_kpkt": {"title": "NIC interrupts, TCP to peer", "unit": "per 1000 packets",
                        "better": "lower", "diagnostic": True},
    "rr_irq_kpkt": {"title": "NIC interrupts, request/response", "unit": "per 1000 packets",
                    "better": "lower", "diagnostic": True},
}
STATUSES = ("ok", "n/a", "never", "failed")


def num(s):
    try:
        return float(s)
    except ValueError:
        return None


def cell(samples):
    """samples: [(round, value-string, note)] -> the cell's dict."""
    values = [(r, num(v)) for r, v, _ in samples if num(v) is not None]
    kinds = [v for _, v, _ in samples if num(v) is None]
    c = {"samples": [v for _, v in values], "rounds": [r for r, _ in values],
         "failed": kinds.count("failed"),
         # In round order, each once (the recovery path, say, is the same every round).
         "notes": list(dict.fromkeys(n for _, _, n in sorted(samples, key=lambda s: s[0]) if n))}
    if values:
        vs = [v for _, v in values]
        c.update(status="ok", median=statistics.median(vs), min=min(vs), max=max(vs))
    elif "never" in kinds:
        c["status"] = "never"
    elif "n/a" in kinds or not samples:
        c["status"] = "n/a"
    else:
        c["status"] = "failed"
    return c


def build(raw_path, meta_path, out_path, extra):
    meta = {}
    with open(meta_path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            meta[k] = v
    for kv in extra:
        k, _, v = kv.partition("=")
        meta[k] = v
    for k in ("rounds", "duration_s", "queues", "vcpus", "ping_count", "guest_runtime_s",
              "recovery_timeout_s", "runtime_s", "host_cpus"):
        if k in meta and num(meta[k]) is not None:
            meta[k] = int(num(meta[k]))
    meta["rust_net"] = bool(meta.get("rust_net_driver"))
    meta["smoke"] = meta.get("smoke") in ("1", "yes", "true")

    samples = {m: {c: [] for c in CONFIGS} for m in METRICS}
    with open(raw_path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 4 or parts[2] not in METRICS or parts[1] not in CONFIGS:
                continue
            if parts[0] == "0":
                continue  # the warm-up round
            samples[parts[2]][parts[1]].append((int(parts[0]), parts[3],
                                                parts[4] if len(parts) > 4 else ""))

    results = {}
    for m in METRICS:
        results[m] = {}
        for c in CONFIGS:
            results[m][c] = cell(samples[m][c])
        base = results[m][BASELINE]
        for c in CONFIGS:
            x = results[m][c]
            if c == BASELINE or x["status"] != "ok" or base["status"] != "ok" or not base["median"]:
                continue
            x["ratio"] = x["median"] / base["median"]
            # Round by round, for the spread of the ratio.
            b = dict(zip(base["rounds"], base["samples"]))
            paired = [v / b[r] for r, v in zip(x["rounds"], x["samples"]) if b.get(r)]
            if paired:
                x["ratio_min"], x["ratio_max"] = min(paired), max(paired)

    noise = {}
    for m in METRICS:
        r = results[m][NOISE].get("ratio")
        if r is not None:
            noise[m] = abs(r - 1)
    # The band is that of the measurements; the interrupt counts explain them, and are left out.
    perf_noise = [v for m, v in noise.items() if not METRICS[m].get("diagnostic")]
    goal_noise = [v for m, v in noise.items() if METRICS[m].get("goal")]
    doc = {
        "version": 1,
        "meta": meta,
        "baseline": BASELINE,
        "noise_config": NOISE,
        "configs": CONFIGS,
        "metrics": METRICS,
        "results": results,
        "noise": {"per_metric": noise, "max": max(perf_noise) if perf_noise else None,
                  "goal_max": max(goal_noise) if goal_noise else None},
    }
    with open(out_path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
    return doc


def fmt(v):
    a = abs(v)
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def cell_text(doc, m, c):
    x = doc["results"][m][c]
    st = x["status"]
    if st == "never":
        t = doc["meta"].get("recovery_timeout_s")
        return f"never (>{t} s)" if t else "never"
    if st != "ok":
        return st
    s = f"{fmt(x['median'])} [{fmt(x['min'])}-{fmt(x['max'])}]"
    if "ratio" in x:
        s += f" x{x['ratio']:.2f}"
    if x["failed"]:
        s += f" ({x['failed']} failed)"
    return s


def table(doc):
    meta = doc["meta"]
    cols = list(doc["configs"])
    lines = []
    lines.append(
        f"rvirtio bench: {meta.get('rounds')} rounds, {meta.get('duration_s')} s per test, "
        f"{meta.get('queues')} queue pairs, {meta.get('accel', '?')}, "
        f"{meta.get('vcpus', '?')} vCPUs, backend {meta.get('backend', '?')}")
    lines.append("cells: median [min-max] over the rounds, xRATIO = configuration / C/C "
                 "(where both exist)")
    head = ["metric", "unit"] + [doc["configs"][c]["label"] for c in cols]
    rows = [head]
    for m, info in doc["metrics"].items():
        unit = info["unit"] + (" (low)" if info["better"] == "lower" else "")
        rows.append([info["title"], unit] + [cell_text(doc, m, c) for c in cols])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for i, r in enumerate(rows):
        lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("columns: transport/driver, C = upstream (virtio-pci, virtio_net), "
                 "R = Rust (rvirtio-pci, rvirtio_net); (low): lower is better")
    n = doc["noise"]
    if n["max"] is not None:
        worst = max((m for m in n["per_metric"] if not doc["metrics"][m].get("diagnostic")),
                    key=n["per_metric"].get)
        lines.append(f"noise band (C/C measured twice, alternated): up to "
                     f"{n['max'] * 100:.1f}% ({doc['metrics'][worst]['title']}); "
                     f"ratios within it are no difference")
    lines += goal_lines(doc)
    if not meta.get("rust_net"):
        lines.append("rvirtio_net: not built (out/build/rvirtio_net.ko), its columns are n/a")
    return "\n".join(lines)


def goal_lines(doc):
    """The goal, Rust / C >= 1.00 on the "goal" metrics, per configuration with Rust in it:
    the lowest and highest ratio, and whether the lowest is below 1.00 by more than the noise
    of those metrics."""
    goal = [m for m, info in doc["metrics"].items() if info.get("goal")]
    band = doc["noise"].get("goal_max")
    if band is None:
        return []
    lines = [f"goal, Rust/C >= 1.00 on {len(goal)} metrics (pps, TCP, trans/s); their noise "
             f"band: {band * 100:.1f}%"]
    for c, info in doc["configs"].items():
        if c in (BASELINE, NOISE):
            continue
        ratios = {m: doc["results"][m][c]["ratio"] for m in goal
                  if "ratio" in doc["results"][m][c]}
        if not ratios:
            continue
        lo = min(ratios, key=ratios.get)
        hi = max(ratios, key=ratios.get)
        if ratios[lo] >= 1:
            verdict = "met"
        elif ratios[lo] < 1 - band:
            verdict = "not met: below 1.00 by more than the noise"
        else:
            verdict = "within the noise of 1.00"
        lines.append(f"  {info['label']}: lowest x{ratios[lo]:.3f} "
                     f"({doc['metrics'][lo]['title']}), highest x{ratios[hi]:.3f} "
                     f"({doc['metrics'][hi]['title']}): {verdict}")
    return lines


def check(doc):
    """(errors, warnings) about the document: errors for a missing key or a failed cell of any
    configuration that ran, ours as well as upstream's: a cell that fails is a driver or a bench
    that does not work, whichever it is. No warnings are left; the list stays for callers."""
    errs, warns = [], []
    for k in ("version", "meta", "configs", "metrics", "results", "noise", "baseline"):
        if k not in doc:
            errs.append(f"missing key {k}")
    if errs:
        return errs, warns
    for k in ("rounds", "duration_s", "queues", "accel", "kernel", "rust_net", "order"):
        if k not in doc["meta"]:
            errs.append(f"missing meta.{k}")
    if set(doc["configs"]) != set(CONFIGS):
        errs.append(f"configs {sorted(doc['configs'])}, expected {sorted(CONFIGS)}")
    if set(doc["metrics"]) != set(METRICS):
        errs.append(f"metrics {sorted(doc['metrics'])}, expected {sorted(METRICS)}")
    rust = doc["meta"].get("rust_net")
    for m in METRICS:
        for c in CONFIGS:
            x = doc["results"].get(m, {}).get(c)
            if x is None:
                errs.append(f"missing results.{m}.{c}")
                continue
            if x.get("status") not in STATUSES:
                errs.append(f"results.{m}.{c}: status {x.get('status')!r}")
                continue
            if x["status"] == "ok":
                for k in ("median", "min", "max", "samples"):
                    if k not in x:
                        errs.append(f"missing results.{m}.{c}.{k}")
            # Every configuration that can run must have measured every metric.
            upstream = CONFIGS[c]["driver"] != "rvirtio_net"
            if not (rust or upstream):
                continue
            problem = None
            if x["status"] == "failed":
                problem = f"results.{m}.{c} failed: {'; '.join(x.get('notes', []))}"
            elif x["status"] == "n/a" and m != "tcp_mq_mbps":
                problem = f"results.{m}.{c} n/a for a configuration that ran"
            if problem:
                errs.append(problem)
    return errs, warns


def main(argv):
    if len(argv) >= 5 and argv[1] == "build":
        doc = build(argv[2], argv[3], argv[4], argv[5:])
        print(table(doc))
        return 0
    if len(argv) == 3 and argv[1] in ("table", "check"):
        with open(argv[2]) as f:
            doc = json.load(f)
        if argv[1] == "table":
            print(table(doc))
            return 0
        errs, warns = check(doc)
        for w in warns:
            print(f"warning: {w}")
        for e in errs:
            print(e)
        return 1 if errs else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
