#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The benchmark (make bench): boots the guest once and measures the NIC under test on each
# transport x driver configuration, {C virtio-pci, rvirtio-pci} x {C virtio_net, rvirtio_net},
# round after round, plus C/C a second time for the noise. Prints the table, writes bench.json
# and bench.txt, and plots bench.png on the host from the JSON. What is measured and how:
# Documentation/benchmarks.rst.
#
# Environment:
#   BENCH_ROUNDS=5       rounds; each runs every configuration once, the order rotating
#   BENCH_DURATION=5     seconds of each timed test (pktgen, iperf3, request/response)
#   BENCH_QUEUES=2       queue pairs per NIC, for the multiqueue test. Above 1 the NICs get tap
#                        backends on a bridge in a private network namespace (run-vm -Q, needs
#                        CAP_NET_ADMIN); 1 keeps the tests' hub and skips the multiqueue test
#   BENCH_SMOKE=1        one round of 1 s tests, no warm-up (the test suite runs this)
#   BENCH_WARMUP=0       no warm-up round (a short round 0, left out of the results)
#   BENCH_OUT=DIR        results and VM logs (default out/bench, out/bench-smoke for smoke)
#   BENCH_PLOT=0         no plot (nothing installed)
#   BENCH_ICOUNT=N       TCG only: the guest's clock counts its instructions, 2^N ns each
#                        (QEMU -icount shift=N,sleep=off), so that timed results measure what the
#                        guest executes, not what other tenants leave of the host
#   BENCH_PERF=1         profile the guest with perf (round 1 and later) during pktgen, TCP to the
#                        peer and request/response: reports by symbol in $BENCH_OUT/vm/share/perf/.
#                        The profiler costs time: its numbers are not for comparison with others
#                        (host clock only: refused with BENCH_ICOUNT)
#   BENCH_COST=0         no cost pass (its own boot, under TCG with the insn_count plugin: the
#                        drivers' own instructions and notifications per packet, counted)
#   BENCH_COST_ROUNDS=3  rounds of the cost pass (1 in smoke mode)
#   KDIR, RVIRTIO_MODDIR the kernel build and our modules, as for the tests
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/env.sh"
here=$top/selftests/bench

smoke=${BENCH_SMOKE:-0}
if [ "$smoke" = 1 ]; then
	rounds=${BENCH_ROUNDS:-1} secs=${BENCH_DURATION:-1} pings=${BENCH_PING_COUNT:-100}
	warmup=${BENCH_WARMUP:-0}
	out=${BENCH_OUT:-$top/out/bench-smoke}
else
	rounds=${BENCH_ROUNDS:-5} secs=${BENCH_DURATION:-5} pings=${BENCH_PING_COUNT:-500}
	warmup=${BENCH_WARMUP:-1}
	out=${BENCH_OUT:-$top/out/bench}
fi
queues=${BENCH_QUEUES:-2}
cost=${BENCH_COST:-1}
if [ "$smoke" = 1 ]; then
	cost_rounds=${BENCH_COST_ROUNDS:-1} cost_packets=20000 cost_bytes=5000000 cost_rr_secs=1
else
	cost_rounds=${BENCH_COST_ROUNDS:-3} cost_packets=100000 cost_bytes=30000000 cost_rr_secs=2
fi
icount=${BENCH_ICOUNT:-}
qemu_opts=() clock="host clock"
if [ -n "$icount" ] && [ "${BENCH_PERF:-0}" = 1 ]; then
	# perf's cpu-clock timer starves a guest whose clock counts instructions (sleep=off):
	# pktgen ran at 2 % of its rate, with a tenth of the samples due.
	echo "bench: BENCH_PERF does not work with BENCH_ICOUNT: profile on the host clock" >&2
	exit 2
fi
if [ -n "$icount" ]; then
	qemu_opts=(-q "-icount shift=$icount,sleep=off")
	export RVIRTIO_ACCEL=tcg
	clock="instruction clock, 2^$icount ns per instruction"
fi
kdir=${KDIR:-$("$top/scripts/kernel.sh" --path normal)}
moddir=${RVIRTIO_MODDIR:-$top/out/build}
# Where matplotlib lives: a venv of its own in the cache, made once.
MATPLOTLIB_VERSION=3.10.8
venv=$RVIRTIO_CACHE/venv-bench-matplotlib-$MATPLOTLIB_VERSION

# Multiqueue needs tap backends (the hub has one queue pair per port), set up by run-vm in a
# network namespace of its own; without the rights for that, measure on the hub.
backend="QEMU hub (userspace, no vhost)"
if [ "$queues" -gt 1 ]; then
	if [ -c /dev/net/tun ] && unshare --net true 2> /dev/null; then
		backend="tap on a bridge, $queues queue pairs (vhost=off)"
	else
		echo "bench: cannot create a network namespace: one queue pair, no multiqueue test" >&2
		queues=1
	fi
fi

mkdir -p "$out"
rm -f "$out"/bench.json "$out"/bench.txt "$out"/bench.png "$out"/bench-raw.tsv "$out"/cost-raw.tsv
# Per slot, about 6 timed tests plus probe, recovery and setup; generous under TCG.
slots=$(((rounds + 1) * 5))
timeout=$((600 + slots * (8 * secs + 60)))

echo "bench: $rounds rounds, ${secs} s tests, $queues queue pairs; logs in $out/vm" >&2
t0=$(date +%s)
# The guest's progress, live: run-vm shows its output only at the end.
mkdir -p "$out/vm"
: > "$out/vm/output.log"
tail -n 0 -F "$out/vm/output.log" 2> /dev/null | sed -u 's/^/bench: guest: /' >&2 &
tailpid=$!
rc=0
"$top/selftests/vm/run-vm" -k "$kdir" -o "$out/vm" -t "$timeout" -Q "$queues" \
	-e "RVIRTIO_MODDIR=$moddir" -e "BENCH_ROUNDS=$rounds" -e "BENCH_DURATION=$secs" \
	-e "BENCH_QUEUES=$queues" -e "BENCH_PING_COUNT=$pings" -e "BENCH_WARMUP=$warmup" \
	-e "BENCH_PERF=${BENCH_PERF:-0}" \
	"${qemu_opts[@]}" "$here/guest.sh" > "$out/vm.log" 2>&1 || rc=$?
sleep 0.5
kill "$tailpid" 2> /dev/null || true
wait "$tailpid" 2> /dev/null || true
runtime=$(($(date +%s) - t0))
grep '^run-vm:' "$out/vm.log" >&2 || true

raw=$out/vm/share/bench-raw.tsv meta=$out/vm/share/bench-meta.tsv
if [ ! -s "$meta" ]; then
	echo "bench: the guest produced no results (run-vm status $rc); see $out/vm.log" >&2
	tail -n 20 "$out/vm.log" >&2
	exit 1
fi
touch "$raw"
cp "$raw" "$out/bench-raw.tsv"
cp "$meta" "$out/bench-meta.tsv"
raw=$out/bench-raw.tsv meta=$out/bench-meta.tsv

# The cost pass: a boot of its own under TCG with the insn_count plugin counting per vCPU
# (cost.sh in the guest, cost.py here): the drivers' own instructions and notifications per
# packet, counted, whatever the host's load.
cost_rc=0
if [ "$cost" = 1 ]; then
	if plugin=$("$here/profile/plugin.sh"); then
		echo "bench: cost pass, $cost_rounds rounds; logs in $out/cost" >&2
		rm -rf "$out/cost"
		mkdir -p "$out/cost/share"
		RVIRTIO_ACCEL=tcg "$top/selftests/vm/run-vm" -k "$kdir" -o "$out/cost" -t 3600 -Q "$queues" \
			-c tsc=reliable -e "RVIRTIO_MODDIR=$moddir" -e "COST_ROUNDS=$cost_rounds" \
			-e "COST_PACKETS=$cost_packets" -e "COST_BYTES=$cost_bytes" -e "COST_RR_SECS=$cost_rr_secs" \
			-q "-plugin $plugin,dir=$out/cost/share,cpus=on,delta=on" \
			"$here/cost.sh" > "$out/cost.log" 2>&1 || cost_rc=$?
		grep '^run-vm:' "$out/cost.log" >&2 || true
		if [ -s "$out/cost/share/cost-samples.tsv" ] &&
			python3 "$here/cost.py" "$out/cost/share" "$kdir" > "$out/cost-raw.tsv"; then
			cat "$out/cost-raw.tsv" >> "$raw"
			cat "$out/cost/share/cost-meta.tsv" >> "$meta"
		else
			echo "bench: the cost pass produced no results (run-vm status $cost_rc); see $out/cost.log" >&2
			tail -n 20 "$out/cost.log" >&2
			[ "$cost_rc" != 0 ] || cost_rc=1
		fi
		# The snapshots are large, and all they said is in cost-raw.tsv now.
		rm -f "$out"/cost/share/snap-*
	else
		echo "bench: the insn_count plugin cannot be built: no cost pass" >&2
		cost_rc=1
	fi
fi
python3 "$here/report.py" build "$raw" "$meta" "$out/bench.json" "backend=$backend" \
	"runtime_s=$runtime" "host_cpus=$(nproc)" "clock=$clock" "smoke=$smoke" "date=$(date -u +%FT%TZ)" |
	tee "$out/bench.txt"
echo "bench: $out/bench.json, $out/bench.txt (run took ${runtime} s)" >&2

if [ "${BENCH_PLOT:-1}" != 0 ]; then
	if ! "$venv/bin/python" -c 'import matplotlib' 2> /dev/null; then
		echo "bench: installing matplotlib $MATPLOTLIB_VERSION into $venv" >&2
		rm -rf "$venv"
		python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check \
			"matplotlib==$MATPLOTLIB_VERSION" >&2 || echo "bench: matplotlib install failed" >&2
	fi
	if "$venv/bin/python" "$here/plot.py" "$out/bench.json" "$out/bench.png"; then
		echo "bench: plot in $out/bench.png" >&2
	else
		echo "bench: no plot (matplotlib missing?)" >&2
	fi
fi

if [ $rc != 0 ]; then
	echo "bench: the guest run failed (run-vm status $rc: 124 timeout, 125 kernel splat); see $out/vm.log" >&2
	exit 1
fi
if [ $cost_rc != 0 ]; then
	echo "bench: the cost pass failed (run-vm status $cost_rc: 124 timeout, 125 kernel splat); see $out/cost.log" >&2
	exit 1
fi
