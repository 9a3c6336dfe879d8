#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make profile: where the guest's instructions go when it sends frames, per configuration
# (transport x driver, as in the benchmark), by kernel symbol. Boots the guest under TCG with
# the insn_count QEMU plugin (insn_count.c here), which counts the instructions executed per
# translation block; the guest (guest.sh) sends PROF_PACKETS frames with pktgen on each
# configuration between two snapshots of the counts; report.py resolves the addresses with the
# guest's kallsyms. This is what the benchmark's instruction clock (BENCH_ICOUNT) charges, so it
# tells why a pktgen ratio is below 1 where perf cannot look (no PMU under TCG, and its timer
# starves a guest on the instruction clock).
#
# The plugin is built by plugin.sh, against the qemu-plugin.h of the QEMU that runs it.
#
# Environment: PROF_CONFIGS ("c_c r_r c_r r_c c_c"), PROF_TEST (pktgen; tcp_rx: iperf3 sends
# PROF_BYTES of TCP from the peer, counts per KB received), PROF_PACKETS (200000), PROF_BYTES
# (200000000), PROF_QUEUES (2, as the benchmark's NICs), PROF_OUT (out/profile), PROF_TOP (25
# symbols per table), KDIR, RVIRTIO_MODDIR.
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
. "$top/scripts/env.sh"
here=$top/selftests/bench/profile
out=${PROF_OUT:-$top/out/profile}
queues=${PROF_QUEUES:-2}
kdir=${KDIR:-$("$top/scripts/kernel.sh" --path normal)}
moddir=${RVIRTIO_MODDIR:-$top/out/build}

plugin=$("$here/plugin.sh")

# Two queue pairs need tap backends in a network namespace (as for the benchmark).
if [ "$queues" -gt 1 ] && ! { [ -c /dev/net/tun ] && unshare --net true 2> /dev/null; }; then
	echo "profile: cannot create a network namespace: one queue pair" >&2
	queues=1
fi
mkdir -p "$out/vm/share"
# The plugin answers snapshot requests from 1 up as soon as QEMU starts: one left by an earlier
# run would be answered before the guest asks, and the guest's own request never.
rm -f "$out"/vm/share/req-* "$out"/vm/share/ack-* "$out"/vm/share/snap-*
echo "profile: ${PROF_TEST:-pktgen} on ${PROF_CONFIGS:-c_c r_r c_r r_c c_c}; logs in $out/vm" >&2
rc=0
# tsc=reliable: no clocksource watchdog, which under TCG on a busy host may switch the guest to
# the HPET halfway (each clock read then costs more instructions, in the later runs only).
RVIRTIO_ACCEL=tcg "$top/selftests/vm/run-vm" -k "$kdir" -o "$out/vm" -t 1800 -Q "$queues" \
	-c tsc=reliable \
	-e "RVIRTIO_MODDIR=$moddir" -e "PROF_CONFIGS=${PROF_CONFIGS:-c_c r_r c_r r_c c_c}" \
	-e "PROF_PACKETS=${PROF_PACKETS:-200000}" -e "PROF_TEST=${PROF_TEST:-pktgen}" \
	-e "PROF_BYTES=${PROF_BYTES:-200000000}" -q "-plugin $plugin,dir=$out/vm/share" \
	"$here/guest.sh" > "$out/vm.log" 2>&1 || rc=$?
if [ $rc != 0 ]; then
	echo "profile: the guest run failed (run-vm status $rc); see $out/vm.log" >&2
	tail -n 20 "$out/vm.log" >&2
	exit 1
fi
python3 "$here/report.py" "$out/vm/share" "${PROF_TOP:-25}" | tee "$out/profile.txt"
echo "profile: $out/profile.txt" >&2
