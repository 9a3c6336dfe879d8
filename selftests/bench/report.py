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
# noise band of the timed metrics). "goal": what the goal line judges Rust/C on, lower being
# better: the drivers' own instructions per packet, notifications and interrupts per packet.
# The timed metrics (pps, Mbit/s, trans/s: whole-guest) are context. "cost": counted in the cost
# pass (cost.sh and cost.py: instructions the insn_count plugin counted, notifications), not
# timed.
METRICS = {
    "tx_kpps": {"title": "UDP 64 B TX (pktgen)", "unit": "kpps", "better": "higher"},
    "rx_kpps": {"title": "UDP 64 B RX at the peer", "unit": "kpps", "better": "higher"},
    "tcp_tx_mbps": {"title": "TCP 1 stream, to the peer", "unit": "Mbit/s", "better": "higher"},
    "tcp_rx_mbps": {"title": "TCP 1 stream, from the peer", "unit": "Mbit/s", "better": "higher"},
    "tcp_mq_mbps": {"title": "TCP N streams, N queues", "unit": "Mbit/s", "better": "higher"},
    "cpu_s_per_gb": {"title": "guest CPU per GB (TCP to peer)", "unit": "CPU s/GB",
                     "better": "lower"},
    "ping_rtt_us": {"title": "ping RTT, average", "unit": "us", "better": "lower"},
    "tcp_rr_tps": {"title": "TCP request/response, 1 B", "unit": "trans/s", "better": "higher"},
    "probe_ms": {"title": "probe: bind to first ping", "unit": "ms", "better": "lower"},
    "recovery_ms": {"title": "NEEDS_RESET to first ping", "unit": "ms", "better": "lower"},
}
TEST_TITLES = {"pktgen": "pktgen", "tcp_tx": "TCP to peer", "tcp_rx": "TCP from peer",
               "rr": "request/response"}
for _t, _title in TEST_TITLES.items():
    METRICS[f"{_t}_drv_insn"] = {"title": f"driver instructions, {_title}",
                                 "unit": "insns/packet", "better": "lower", "diagnostic": True,
                                 "goal": True, "cost": True}
for _t, _title in TEST_TITLES.items():
    METRICS[f"{_t}_kick_kpkt"] = {"title": f"notifications, {_title}",
                                  "unit": "per 1000 packets", "better": "lower",
                                  "diagnostic": True, "goal": True, "cost": True}
METRICS["pktgen_pkts_per_kick"] = {"title": "frames per notification, pktgen",
                                   "unit": "frames", "better": "higher", "diagnostic": True,
                                   "cost": True}
for _t, _title in TEST_TITLES.items():
    METRICS[f"{_t}_irq_kpkt"] = {"title": f"NIC interrupts, {_title}",
                                 "unit": "per 1000 packets", "better": "lower",
                                 "diagnostic": True, "goal": True}
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
              "recovery_timeout_s", "runtime_s", "host_cpus", "cost_rounds", "cost_packets",
              "cost_bytes", "cost_rr_s"):
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
    lines.append(f"timed metrics (pps, Mbit/s, trans/s, ms, us): {meta.get('clock', 'host clock')}, "
                 f"the whole guest; interrupts from /proc/interrupts")
    if meta.get("cost_rounds"):
        lines.append(f"driver instructions and notifications: counted, not timed (QEMU plugin, "
                     f"{meta.get('cost_rounds')} rounds of a boot of their own, the NIC under test "
                     f"alone on vCPU 0)")
    else:
        lines.append("driver instructions and notifications: not counted (no cost pass)")
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
        lines.append(f"noise band of the timed metrics (C/C measured twice, alternated): up to "
                     f"{n['max'] * 100:.1f}% ({doc['metrics'][worst]['title']}); "
                     f"ratios within it are no difference")
    lines += goal_lines(doc)
    if not meta.get("rust_net"):
        lines.append("rvirtio_net: not built (out/build/rvirtio_net.ko), its columns are n/a")
    return "\n".join(lines)


def goal_lines(doc):
    """The goal, Rust/C <= 1.00 on the "goal" metrics (the drivers' own instructions,
    notifications and interrupts per packet; lower is better), per configuration with Rust in
    it: the metric furthest above 1.00 measured against its own noise band (C/C measured twice),
    and whether it is above 1.00 by more than that band."""
    goal = [m for m, info in doc["metrics"].items() if info.get("goal")]
    noise = doc["noise"]["per_metric"]
    judged = [m for m in goal if m in noise]
    if not judged:
        return []
    lines = [f"goal, Rust/C <= 1.00 on {len(judged)} metrics (driver instructions, "
             f"notifications and interrupts per packet), each against its noise band "
             f"(C/C measured twice: {min(noise[m] for m in judged) * 100:.1f}-"
             f"{max(noise[m] for m in judged) * 100:.1f}%)"]
    for c, info in doc["configs"].items():
        if c in (BASELINE, NOISE):
            continue
        ratios = {m: doc["results"][m][c]["ratio"] for m in judged
                  if "ratio" in doc["results"][m][c]}
        if not ratios:
            continue
        # How far above 1.00 each is, in units of its band (a band of 0 counts as 0.5 %).
        score = {m: (r - 1) / max(noise[m], 0.005) for m, r in ratios.items()}
        worst = max(score, key=score.get)
        best = min(ratios, key=ratios.get)
        above = [m for m, r in ratios.items() if r > 1 + noise[m]]
        if all(r <= 1 for r in ratios.values()):
            verdict = "met"
        elif above:
            verdict = (f"not met: {len(above)} of {len(ratios)} above 1.00 by more than "
                       f"their noise")
        else:
            verdict = "within the noise of 1.00"
        lines.append(f"  {info['label']}: worst x{ratios[worst]:.3f} "
                     f"({doc['metrics'][worst]['title']}, noise {noise[worst] * 100:.1f}%), "
                     f"best x{ratios[best]:.3f} ({doc['metrics'][best]['title']}): {verdict}")
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
                # A count of the cost pass is never 0: every packet runs driver code, and a
                # transmitting driver notifies.
                if METRICS[m].get("cost") and not x.get("min", 0) > 0:
                    errs.append(f"results.{m}.{c}: {x.get('min')} is not positive")
            # Every configuration that can run must have measured every metric.
            upstream = CONFIGS[c]["driver"] != "rvirtio_net"
            if not (rust or upstream):
                continue
            problem = None
            if x["status"] == "failed":
                problem = f"results.{m}.{c} failed: {'; '.join(x.get('notes', []))}"
            elif x["status"] == "n/a" and m != "tcp_mq_mbps" and not (
                    METRICS[m].get("cost") and not doc["meta"].get("cost_rounds")):
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
