# SPDX-License-Identifier: GPL-2.0
#
# Helpers of the guest scripts of the benchmark and the profile, on top of
# selftests/guest/lib.sh: both rebind the NIC under test (NIC0) from one configuration to the
# next, with the peer in a network namespace.

tool=$RVIRTIO_TOP/selftests/bench/bench_tool.py
RR_PORT=5202
# The configurations, in the run order of round 1 (round r starts r - 1 places further), and
# what each binds: PCI driver, virtio driver ("c": upstream virtio_net, "rust": rvirtio_net).
# c_c2 is C/C measured again, for the noise.
configs=(c_c r_c c_c2 c_r r_r)
declare -A cfg_pci=([c_c]=virtio-pci [r_c]=rvirtio-pci [c_c2]=virtio-pci [c_r]=virtio-pci
	[r_r]=rvirtio-pci)
declare -A cfg_net=([c_c]=c [r_c]=c [c_c2]=c [c_r]=rust [r_r]=rust)

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

# A counter of the peer interface ($PEER, in $PEER_NS): peer_stat rx_packets.
peer_stat() {
	ip netns exec "$PEER_NS" cat "/sys/class/net/$PEER/statistics/$1"
}

# The interrupts the NIC under test has taken so far, per vector: "NAME=COUNT" words, NAME as
# /proc/interrupts has it without its "virtioN-" (config, input.0, output.1...), COUNT over all
# CPUs. Its MSI-X vectors, or its INTx line if it has none.
nic_irq_vectors() {
	local d=/sys/bus/pci/devices/$NIC0 irqs
	irqs=$(ls "$d/msi_irqs" 2> /dev/null)
	[ -n "$irqs" ] || irqs=$(cat "$d/irq")
	awk -v list="$irqs" '
		BEGIN { n = split(list, a); for (i = 1; i <= n; i++) want[a[i] ":"] = 1 }
		$1 in want {
			s = 0
			for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i
			name = $NF
			sub(/^virtio[0-9]+-/, "", name)
			printf "%s=%d ", name, s
		}' /proc/interrupts
}

# Packets the interface has sent and received so far.
nic_pkts() {
	echo $(($(cat "/sys/class/net/$1/statistics/tx_packets") +
		$(cat "/sys/class/net/$1/statistics/rx_packets")))
}

# A sample for record_irqs: "PACKETS NAME=COUNT...".
irq_sample() { # irq_sample DEV
	echo "$(nic_pkts "$1") $(nic_irq_vectors)"
}

snaps=0
# Asks the insn_count plugin (selftests/bench/profile/insn_count.c) for a snapshot, numbered
# $snaps after the call, and waits until it is written; the "labels" file of $RVIRTIO_OUT gets
# "NUMBER LABEL".
plugin_snapshot() { # plugin_snapshot LABEL
	local i=0
	snaps=$((snaps + 1))
	printf '%s\t%s\n' "$snaps" "$1" >> "$RVIRTIO_OUT/labels"
	: > "$RVIRTIO_OUT/req-$snaps"
	while [ ! -e "$RVIRTIO_OUT/ack-$snaps" ]; do
		i=$((i + 1))
		[ $i -le 1200 ] || fail "the plugin did not answer snapshot $snaps (is it loaded?)"
		sleep 0.05
	done
}

# The Rust virtio-net driver: loads rvirtio_net.ko and prints its driver name on the virtio bus,
# or nothing while the module is not built. The only place that knows how it comes in; it is
# bound like virtio_net afterwards (see bench_tool.py probe).
rust_net_driver() {
	local ko=${RVIRTIO_MODDIR:-$RVIRTIO_TOP/out/build}/rvirtio_net.ko d
	[ -f "$ko" ] || return 0
	[ -d /sys/module/rvirtio_net ] || rvirtio_load rvirtio_net || return 1
	for d in /sys/bus/virtio/drivers/*; do
		[ "$(basename "$(readlink "$d/module" 2>/dev/null)")" = rvirtio_net ] &&
			{ basename "$d"; return 0; }
	done
	for d in rvirtio_net rvirtio-net; do
		[ -d "/sys/bus/virtio/drivers/$d" ] && { echo "$d"; return 0; }
	done
	return 1
}

# The difference of two samples of irq_sample: "PACKETS<tab>INTERRUPTS<tab>NOTE", the note
# naming the vectors that took some ("output.0 12, input.0 3", or "no interrupts").
irq_delta() { # irq_delta BEFORE AFTER
	awk -v a="$1" -v b="$2" 'BEGIN {
		n = split(a, x, " "); for (i = 2; i <= n; i++) { split(x[i], kv, "="); c[kv[1]] = kv[2] }
		n = split(b, y, " ")
		for (i = 2; i <= n; i++) {
			split(y[i], kv, "=")
			d = kv[2] - c[kv[1]]
			t += d
			if (d > 0) per = per sprintf("%s%s %d", per == "" ? "" : ", ", kv[1], d)
		}
		printf "%d\t%d\t%s\n", y[1] - x[1], t, per == "" ? "no interrupts" : per
	}'
}
