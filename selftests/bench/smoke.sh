#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The benchmark's smoke test (one test point of selftests/run_tests.sh, runnable alone): the
# bench command in smoke mode (one round, 1 s tests) must finish, and its bench.json must have
# every key, and a measurement in every cell of every configuration that ran, on upstream
# virtio_net and on rvirtio_net alike, the counts of the cost pass (driver instructions,
# notifications) positive: a failed cell fails the test. No speed is judged.
#
#   smoke.sh [OUTDIR]     (default out/bench-smoke)
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/out/bench-smoke}
mkdir -p "$out"

rc=0
BENCH_SMOKE=1 BENCH_OUT=$out "$top/selftests/bench/bench.sh" > "$out/smoke.log" 2>&1 || rc=$?
grep -E '^(bench:|run-vm:)' "$out/smoke.log" | grep -v 'bench: guest:' | tail -n 8
if [ $rc != 0 ]; then
	tail -n 30 "$out/smoke.log"
	echo "bench command failed (status $rc)"
	exit 1
fi
rc=0
errs=$(python3 "$top/selftests/bench/report.py" check "$out/bench.json" 2>&1) || rc=$?
[ -z "$errs" ] || echo "$errs"
if [ $rc != 0 ]; then
	echo "bench.json incomplete"
	exit 1
fi
python3 "$top/selftests/bench/report.py" table "$out/bench.json"
echo "bench.json has every key"
