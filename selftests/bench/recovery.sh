#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench-recovery: where the time of a DEVICE_NEEDS_RESET recovery goes, phase by phase,
# for each strategy. Boots the test guest once and runs the recovery tests of the suite with
# RECOVERY_ROUNDS injections each (RVIRTIO_RECOVERY_ROUNDS): C virtio_net by freeze/restore,
# C virtio_blk and rvirtio_net by reset_prepare/reset_done, C virtio_net re-probed. After each
# recovery the tests read the transport's phase times (debugfs recovery, last_phase_*_us) and
# print their medians and ranges (lib.sh, phase_summary); this script gathers those lines into
# one table, in $RECOVERY_OUT/recovery.txt (default out/bench-recovery).
#
# Environment: RECOVERY_ROUNDS (20), RECOVERY_OUT, KDIR, RVIRTIO_MODDIR.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/env.sh"
rounds=${RECOVERY_ROUNDS:-20}
out=${RECOVERY_OUT:-$top/out/bench-recovery}
kdir=${KDIR:-$("$top/scripts/kernel.sh" --path normal)}
moddir=${RVIRTIO_MODDIR:-$top/out/build}
tests=(reset_net_freeze_restore reset_blk_prepare_done reset_reprobe net_reset)

mkdir -p "$out"
paths=()
for t in "${tests[@]}"; do
	paths+=("$top/selftests/guest/tests/$t.sh")
done
echo "bench-recovery: ${tests[*]}, $rounds recoveries each; logs in $out/vm" >&2
rc=0
"$top/selftests/vm/run-vm" -k "$kdir" -o "$out/vm" -t 3600 -e "RVIRTIO_MODDIR=$moddir" \
	-e "RVIRTIO_RECOVERY_ROUNDS=$rounds" -e RVIRTIO_MIN_BYTES=100000 \
	"$top/selftests/guest/run.sh" -t 1800 "${paths[@]}" > "$out/ktap.txt" 2> "$out/runner.log" || rc=$?
# Each "phases, ..." line comes just before the test's "recovery time, STRATEGY (DRIVER...)"
# line, which names what was measured.
awk '
	/^# phases, / { p = $0; sub(/^# phases, /, "", p); next }
	/^# recovery time, / && p != "" {
		w = $0; sub(/^# recovery time, /, "", w); sub(/: median.*/, "", w); sub(/, injection to.*/, "", w)
		printf "%s\n  %s\n", w, p
		p = ""
	}
	/^(not )?ok / { print }' "$out/ktap.txt" | tee "$out/recovery.txt"
if [ $rc != 0 ]; then
	echo "bench-recovery: the guest run failed (status $rc); see $out/ktap.txt and $out/runner.log" >&2
	exit 1
fi
echo "bench-recovery: $out/recovery.txt" >&2
