#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Plot bench.json: one panel per metric, a bar per configuration at the median, whiskers from
min to max, the ratio to C/C above each bar; cells without a number are labelled instead.

    plot.py BENCH.json OUT.png

Runs on the host with matplotlib (bench.sh installs it in a cached venv).
"""

import json
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {"c_c": "#4c72b0", "c_c2": "#8fa9d6", "r_c": "#dd8452", "c_r": "#55a868",
           "r_r": "#c44e52"}


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        doc = json.load(f)
    metrics = list(doc["metrics"])
    configs = list(doc["configs"])
    ncols = 5
    nrows = math.ceil(len(metrics) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 3.6 * nrows), squeeze=False)
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    for ax, m in zip(axes.flat, metrics):
        info = doc["metrics"][m]
        top = 0.0
        for i, c in enumerate(configs):
            x = doc["results"][m][c]
            if x["status"] == "ok":
                top = max(top, x["max"])
        top = top or 1.0
        for i, c in enumerate(configs):
            x = doc["results"][m][c]
            if x["status"] != "ok":
                ax.text(i, top * 0.03, x["status"], ha="center", va="bottom",
                        fontsize=8, color="grey")
                continue
            med = x["median"]
            ax.bar(i, med, color=COLOURS.get(c, "grey"),
                   yerr=[[med - x["min"]], [x["max"] - med]], capsize=4, ecolor="black")
            if "ratio" in x:
                ax.text(i, x["max"] + top * 0.02, f"x{x['ratio']:.2f}", ha="center",
                        va="bottom", fontsize=7)
        ax.set_ylim(0, top * 1.18)
        ax.set_xlim(-0.6, len(configs) - 0.4)
        ax.set_xticks(range(len(configs)))
        ax.set_xticklabels([doc["configs"][c]["label"] for c in configs], fontsize=8,
                           rotation=20)
        better = "lower is better" if info["better"] == "lower" else "higher is better"
        ax.set_title(f"{info['title']}\n{info['unit']}, {better}", fontsize=9)
        ax.tick_params(axis="y", labelsize=8)
    meta = doc["meta"]
    fig.suptitle(
        f"rvirtio bench: {meta.get('rounds')} rounds, {meta.get('duration_s')} s tests, "
        f"{meta.get('queues')} queue pairs, {meta.get('accel')}, {meta.get('vcpus')} vCPUs; "
        "bars: median, whiskers: min-max; C = upstream, R = Rust (transport/driver)\n"
        f"timed metrics on the {meta.get('clock', 'host clock')}; driver instructions and "
        "notifications counted by a QEMU plugin, NIC under test alone on vCPU 0",
        fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(argv[2], dpi=90)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
