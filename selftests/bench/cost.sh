#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# In the guest, run by selftests/bench/bench.sh in a boot of its own, after the timed one, with
# the insn_count QEMU plugin counting per vCPU (cpus=on, delta=on): the cost pass. Each round
# binds the NIC under test (NIC0) to each configuration, in the benchmark's order, and runs a
# fixed amount of each test between two snapshots of the plugin's counts. The NIC under test
# and everything that serves it run on CPU 0 (its interrupts, pktgen, the local end of iperf3
# and of the request/response loop), the peer on CPU 1 (its interrupts, its end of the tests),
# so that the instructions the plugin counts on CPU 0 in the drivers' symbols are the NIC under
# test's, not the peer's (the peer runs the same C drivers in every configuration). The host
# (cost.py) resolves the symbols.
#
# Writes to $RVIRTIO_OUT: cost-samples.tsv, one line per test run, "ROUND CONFIG TEST SNAPSHOT
# PACKETS TX_PACKETS INTERRUPTS NOTE" (SNAPSHOT: the plugin's snapshot that holds the test's
# counts; PACKETS: sent and received by the NIC under test; INTERRUPTS: its vectors, all CPUs;
# NOTE: the interrupts by vector and the pinning), or "ROUND CONFIG TEST failed WHY";
# cost-meta.tsv; labels, snap-N (the plugin's) and kallsyms.
#
# Environment: COST_ROUNDS (2), COST_PACKETS (pktgen frames, 100000), COST_BYTES (TCP bytes each
# way, 30000000), COST_RR_SECS (seconds of request/response, 2), RVIRTIO_MODDIR.
. "$RVIRTIO_TOP/selftests/guest/lib.sh"
. "$RVIRTIO_TOP/selftests/bench/guest-lib.sh"

rounds=${COST_ROUNDS:-2}
packets=${COST_PACKETS:-100000}
bytes=${COST_BYTES:-30000000}
rr_secs=${COST_RR_SECS:-2}
samples=$RVIRTIO_OUT/cost-samples.tsv

# Sends the interrupts of PCI device $1 to the CPUs of mask $2; prints what it could not move.
pin_irqs() {
	local d=/sys/bus/pci/devices/$1 irq bad=
	for irq in $(ls "$d/msi_irqs" 2> /dev/null || cat "$d/irq"); do
		echo "$2" > "/proc/irq/$irq/smp_affinity" 2> /dev/null || bad+=" $irq"
	done
	echo "$bad"
}

# NIC0 and everything serving it on CPU 0, the peer on CPU 1: see the header.
pin() {
	local bad
	bad=$(pin_irqs "$NIC0" 1)$(pin_irqs "$NIC1" 2)
	[ -z "$bad" ] || echo "interrupts not pinned:$bad"
}

sample() { # sample ROUND CONFIG TEST DEV BEFORE TX_BEFORE
	local tx d
	tx=$(($(cat "/sys/class/net/$4/statistics/tx_packets") - $6))
	d=$(irq_delta "$5" "$(irq_sample "$4")")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s%s\n' "$1" "$2" "$3" "$snaps" "${d%%$'\t'*}" "$tx" \
		"$(echo "$d" | cut -f 2)" "$(echo "$d" | cut -f 3)" "${pinned:+; $pinned}" >> "$samples"
}

failed() { # failed ROUND CONFIG TEST WHY
	printf '%s\t%s\t%s\tfailed\t%s\n' "$1" "$2" "$3" "${4//[$'\t\n']/ }" >> "$samples"
}

# iperf3 of $1 bytes between the NIC under test (client, CPU 0) and the peer (server, CPU 1);
# $2...: more client options (-R).
iperf_pinned() {
	local n=$1 srv
	shift
	ip netns exec "$PEER_NS" timeout 300 iperf3 -s -1 -A 1 -p $IPERF_PORT -B 10.99.0.2 \
		> /dev/null 2>&1 &
	srv=$!
	wait_for 5 iperf_listening_on $IPERF_PORT || { kill "$srv"; return 1; }
	timeout 290 iperf3 -c 10.99.0.2 -p $IPERF_PORT -A 0 -n "$n" "$@" > /dev/null 2>&1 ||
		{ kill "$srv"; return 1; }
	wait "$srv"
}

rr_pinned() {
	local srv
	ip netns exec "$PEER_NS" timeout $((rr_secs + 30)) taskset -c 1 python3 "$tool" rr-server \
		10.99.0.2 $RR_PORT &
	srv=$!
	wait_for 5 iperf_listening_on $RR_PORT || { kill "$srv"; return 1; }
	timeout $((rr_secs + 25)) taskset -c 0 python3 "$tool" rr-client 10.99.0.2 $RR_PORT \
		"$rr_secs" > /dev/null || { kill "$srv"; return 1; }
	wait "$srv"
}

# One configuration in one round.
run_slot() {
	local round=$1 cfg=$2 drv out dev s0 tx0 t
	if [ "${cfg_net[$cfg]}" = rust ]; then
		drv=$rust_drv
		[ -n "$drv" ] || {
			for t in pktgen tcp_tx tcp_rx rr; do failed "$round" "$cfg" $t "n/a"; done
			return
		}
	else
		drv=virtio_net
	fi
	pci_unbind "$NIC0"
	if ! out=$(python3 "$tool" probe "$NIC0" "${cfg_pci[$cfg]}" "$drv" "$NIC0_MAC" 10.99.0.1/24 \
		10.99.0.2 2>&1); then
		for t in pktgen tcp_tx tcp_rx rr; do failed "$round" "$cfg" $t "probe failed: $out"; done
		return
	fi
	read -r _ dev _ <<< "$out"
	ethtool -L "$dev" combined 1 > /dev/null 2>&1
	pinned=$(pin)
	sleep 0.5
	# Warm: the first run of a path pays for its translation.
	pktgen_prepare "$dev" 2000 && echo start > /proc/net/pktgen/pgctrl
	echo rem_device_all > /proc/net/pktgen/kpktgend_0

	if pktgen_prepare "$dev" "$packets"; then
		s0=$(irq_sample "$dev") tx0=$(cat "/sys/class/net/$dev/statistics/tx_packets")
		plugin_snapshot "$round $cfg pktgen start"
		echo start > /proc/net/pktgen/pgctrl
		plugin_snapshot "$round $cfg pktgen end"
		echo rem_device_all > /proc/net/pktgen/kpktgend_0
		sleep 0.3
		sample "$round" "$cfg" pktgen "$dev" "$s0" "$tx0"
	else
		failed "$round" "$cfg" pktgen "pktgen setup"
	fi
	for t in tcp_tx tcp_rx; do
		s0=$(irq_sample "$dev") tx0=$(cat "/sys/class/net/$dev/statistics/tx_packets")
		plugin_snapshot "$round $cfg $t start"
		if iperf_pinned "$bytes" $([ $t = tcp_rx ] && echo -R); then
			plugin_snapshot "$round $cfg $t end"
			sample "$round" "$cfg" $t "$dev" "$s0" "$tx0"
		else
			plugin_snapshot "$round $cfg $t end"
			failed "$round" "$cfg" $t "iperf3"
		fi
	done
	s0=$(irq_sample "$dev") tx0=$(cat "/sys/class/net/$dev/statistics/tx_packets")
	plugin_snapshot "$round $cfg rr start"
	if rr_pinned; then
		plugin_snapshot "$round $cfg rr end"
		sample "$round" "$cfg" rr "$dev" "$s0" "$tx0"
	else
		plugin_snapshot "$round $cfg rr end"
		failed "$round" "$cfg" rr "request/response"
	fi
	pci_unbind "$NIC0"
	echo "cost: round $round $cfg done${pinned:+ ($pinned)}"
}

trap bench_cleanup EXIT
rm -f "$samples" "$RVIRTIO_OUT"/{labels,kallsyms,cost-meta.tsv} "$RVIRTIO_OUT"/req-* \
	"$RVIRTIO_OUT"/ack-* "$RVIRTIO_OUT"/snap-*
must kmod_load virtio_net
must kmod_load pktgen
must rvirtio_load rvirtio_pci
rust_drv=$(rust_net_driver) || fail "rvirtio_net.ko is built but its driver did not register"
wait_for 5 netdev_by_mac "$NIC1_MAC" || fail "no peer interface"
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface under test"
netns_setup > /dev/null || fail "namespace setup failed"
PEER=$(ip -n "$PEER_NS" -o link | awk -v m="$NIC1_MAC" '$0 ~ m { sub(/:$/, "", $2); sub(/@.*/, "", $2); print $2 }')
ip netns exec "$PEER_NS" ethtool -L "$PEER" combined 1 > /dev/null 2>&1
[ "$(nproc)" -ge 2 ] || fail "the cost pass needs 2 vCPUs"
{
	printf 'cost_rounds\t%s\n' "$rounds"
	printf 'cost_packets\t%s\n' "$packets"
	printf 'cost_bytes\t%s\n' "$bytes"
	printf 'cost_rr_s\t%s\n' "$rr_secs"
} > "$RVIRTIO_OUT/cost-meta.tsv"
pinned=
n=${#configs[@]}
for ((r = 1; r <= rounds; r++)); do
	for ((i = 0; i < n; i++)); do
		run_slot "$r" "${configs[(i + r - 1) % n]}"
	done
done
cat /proc/kallsyms > "$RVIRTIO_OUT/kallsyms"
exit 0
