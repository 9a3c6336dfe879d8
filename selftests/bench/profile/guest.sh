#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# In the guest, run by selftests/bench/profile/profile.sh through run-vm with the insn_count
# plugin loaded: binds the NIC under test to each configuration in turn, as the benchmark does,
# and runs the test between two snapshots of the plugin's counts: PROF_TEST=pktgen sends
# PROF_PACKETS 64-byte UDP frames to the peer with pktgen; PROF_TEST=tcp_rx has iperf3 send
# PROF_BYTES of TCP from the peer to the NIC under test. Writes, to $RVIRTIO_OUT: "unit" (what
# the counts are divided by), "labels" (snapshot number, configuration and start/end),
# "packets" (configuration, units, the test's rate) and "kallsyms", to resolve the addresses.
#
# Environment: PROF_CONFIGS (configurations in run order, "c_c r_r c_r r_c c_c"), PROF_TEST
# (pktgen), PROF_PACKETS (200000), PROF_BYTES (200000000), RVIRTIO_MODDIR.
. "$RVIRTIO_TOP/selftests/guest/lib.sh"
. "$RVIRTIO_TOP/selftests/bench/guest-lib.sh"

packets=${PROF_PACKETS:-200000}
bytes=${PROF_BYTES:-200000000}
test=${PROF_TEST:-pktgen}
prof_configs=${PROF_CONFIGS:-c_c r_r c_r r_c c_c}

# pktgen, one thread on CPU 0: $2 frames of 60 bytes (64 with the FCS) on $1, as the bench
# sends them; prints pktgen's rate.
pktgen_count() {
	local dev=$1 t=/proc/net/pktgen/kpktgend_0 d=/proc/net/pktgen/$1
	pktgen_prepare "$dev" "$2" || return 1
	echo start > /proc/net/pktgen/pgctrl
	grep -o '[0-9]\+pps' "$d" | head -n 1
	echo rem_device_all > $t
}

# Prints "BYTES MBIT/S" received, from iperf3's report on stdin.
tcp_rx_result() {
	local out bps got
	out=$(iperf_received) || { echo "$out"; return 1; }
	read -r bps got <<< "$out"
	echo "$got" "$(awk -v b="$bps" 'BEGIN { printf "%.1f", b / 1e6 }')"
}

case $test in
pktgen) echo "frame sent (pktgen, 64-byte UDP)" > "$RVIRTIO_OUT/unit" ;;
tcp_rx) echo "KB received (iperf3, TCP from the peer, one stream)" > "$RVIRTIO_OUT/unit" ;;
*) fail "unknown PROF_TEST $test (pktgen, tcp_rx)" ;;
esac

trap bench_cleanup EXIT

rm -f "$RVIRTIO_OUT"/{labels,packets,kallsyms} "$RVIRTIO_OUT"/req-* "$RVIRTIO_OUT"/ack-* \
	"$RVIRTIO_OUT"/snap-*
must kmod_load virtio_net
must kmod_load pktgen
must rvirtio_load rvirtio_pci
rust_drv=$(rust_net_driver) && [ -n "$rust_drv" ] || fail "rvirtio_net registered no virtio driver"
wait_for 5 netdev_by_mac "$NIC1_MAC" || fail "no peer interface"
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface under test"
netns_setup > /dev/null || fail "namespace setup failed"

for cfg in $prof_configs; do
	case $cfg in
	c_c) pci=virtio-pci drv=virtio_net ;;
	r_c) pci=rvirtio-pci drv=virtio_net ;;
	c_r) pci=virtio-pci drv=$rust_drv ;;
	r_r) pci=rvirtio-pci drv=$rust_drv ;;
	*) fail "unknown configuration $cfg" ;;
	esac
	pci_unbind "$NIC0"
	out=$(python3 "$tool" probe "$NIC0" "$pci" "$drv" "$NIC0_MAC" 10.99.0.1/24 10.99.0.2 2>&1) ||
		fail "$cfg: probe failed: $out"
	read -r _ dev _ <<< "$out"
	ethtool -L "$dev" combined 1 > /dev/null 2>&1
	sleep 0.5
	# Warm: the first run of a path pays for its translation, counted apart.
	if [ "$test" = tcp_rx ]; then
		# iperf3 from the peer to the NIC under test: $bytes of TCP, one stream. Its report is
		# read after the snapshot: python's start is no part of the test.
		iperf_client 270 -R -n $((bytes / 10)) | tcp_rx_result > /dev/null ||
			fail "$cfg: iperf3 failed"
		plugin_snapshot "$cfg start"
		json=$(iperf_client 270 -R -n "$bytes")
		plugin_snapshot "$cfg end"
		out=$(echo "$json" | tcp_rx_result) || fail "$cfg: iperf3 failed: $out"
		read -r got mbps <<< "$out"
		printf '%s\t%s\t%s\n' "$cfg" $((got / 1000)) "$mbps" >> "$RVIRTIO_OUT/packets"
		echo "$cfg: $got bytes received, $mbps Mbit/s"
		continue
	fi
	pktgen_count "$dev" 20000 > /dev/null || fail "$cfg: pktgen failed"
	tx0=$(cat "/sys/class/net/$dev/statistics/tx_packets")
	plugin_snapshot "$cfg start"
	pps=$(pktgen_count "$dev" "$packets") || fail "$cfg: pktgen failed"
	plugin_snapshot "$cfg end"
	tx1=$(cat "/sys/class/net/$dev/statistics/tx_packets")
	printf '%s\t%s\t%s\n' "$cfg" $((tx1 - tx0)) "${pps%pps}" >> "$RVIRTIO_OUT/packets"
	echo "$cfg: $((tx1 - tx0)) frames sent, pktgen ${pps:-no rate}"
done
cat /proc/kallsyms > "$RVIRTIO_OUT/kallsyms"
exit 0
