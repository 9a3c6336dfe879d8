# SPDX-License-Identifier: GPL-2.0
#
# Helpers of the guest scripts of the benchmark and the profile, on top of
# selftests/guest/lib.sh: both rebind the NIC under test (NIC0) from one configuration to the
# next, with the peer in a network namespace.

pci_unbind() {
	[ -e "/sys/bus/pci/devices/$1/driver" ] && echo "$1" > "/sys/bus/pci/devices/$1/driver/unbind"
	return 0
}

# On exit: the peer back from its namespace, and NIC0 to the driver the kernel picks.
bench_cleanup() {
	netns_cleanup > /dev/null 2>&1
	pci_unbind "$NIC0"
	echo "" > "/sys/bus/pci/devices/$NIC0/driver_override"
	echo "$NIC0" > /sys/bus/pci/drivers_probe 2>/dev/null
}

# Sets pktgen's thread on CPU 0 up to send $2 frames (0: until stopped) of 60 bytes (64 with the
# FCS) of UDP from port 9 to port 9 of the peer (10.99.0.2) on interface $1.
pktgen_prepare() {
	local t=/proc/net/pktgen/kpktgend_0 d=/proc/net/pktgen/$1 c
	echo rem_device_all > $t
	echo "add_device $1" > $t || return 1
	for c in "count $2" "clone_skb 0" "pkt_size 60" "delay 0" "dst 10.99.0.2" \
		"dst_mac $NIC1_MAC" "udp_src_min 9" "udp_src_max 9" "udp_dst_min 9" "udp_dst_max 9"; do
		echo "$c" > "$d" || return 1
	done
}

iperf_listening_on() {
	ip netns exec "$PEER_NS" ss -ltnH "sport = :$1" | grep -q .
}

# iperf3 between the NIC under test and the peer (10.99.0.2; its server in the peer's
# namespace, for one test): $1 is how many seconds the test may take, $2... iperf3's options
# (-t or -n, -R, -P...). Prints iperf3's report (JSON).
iperf_client() {
	local limit=$1 srv
	shift
	ip netns exec "$PEER_NS" timeout $((limit + 30)) iperf3 -s -1 -p $IPERF_PORT -B 10.99.0.2 \
		> /dev/null 2>&1 &
	srv=$!
	wait_for 5 iperf_listening_on $IPERF_PORT || { kill "$srv"; return 1; }
	timeout $((limit + 25)) iperf3 -c 10.99.0.2 -p $IPERF_PORT -J "$@" 2>&1
	wait "$srv"
}

# Reads an iperf3 report (JSON) and prints "BITS_PER_SECOND BYTES" as received; fails with
# iperf3's error, if any.
iperf_received() {
	python3 -c '
import json, sys
r = json.load(sys.stdin)
if "error" in r:
    raise SystemExit(r["error"])
s = r["end"]["sum_received"]
print(s["bits_per_second"], int(s["bytes"]))' 2>&1
}

# iperf_client, then iperf_received.
iperf_json() {
	local out
	out=$(iperf_client "$@")
	echo "$out" | iperf_received
}
