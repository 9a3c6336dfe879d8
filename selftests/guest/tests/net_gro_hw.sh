#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rvirtio_net switches the device's receive coalescing (rx-gro-hw) with CTRL_GUEST_OFFLOADS,
# on a tap backend with vnet headers, under iperf3 towards the NIC: while on, the device hands
# over GSO packets (tens of KB per frame on average); off, frames of the MTU (1514 bytes at
# most), also after the device was reset (on rvirtio-pci, by the driver's own knob: the
# reset turns every offload back on, the driver must switch coalescing off again; the C
# transport does not recover a device, so that step is left out there); on again, GSO packets
# again. Traffic passes throughout.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	[ -n "${client:-}" ] && kill "$client" 2>/dev/null
	rvnet_cleanup
}
trap cleanup EXIT
must kmod_load virtio_net
must rvirtio_load rvirtio_net
dev=$(rvnet_setup recovery_window_ms=200) || fail "setup failed: $dev"
assert_rvirtio_net "$dev"

# The features the driver negotiated, a character per bit. Mergeable buffers, unless the NIC
# has none (RVIRTIO_EXPECT_BIG=1: GSO packets arrive in big-packet buffers).
vdev=$(virtio_of "$NIC0")
feats=$(cat "/sys/bus/virtio/devices/$vdev/features")
mrg=1 bufs=MRG_RXBUF
[ "${RVIRTIO_EXPECT_BIG:-0}" = 1 ] && mrg=0 bufs="big packets"
for b in 2:CTRL_GUEST_OFFLOADS 1:GUEST_CSUM 7:GUEST_TSO4 17:CTRL_VQ; do
	[ "${feats:${b%%:*}:1}" = 1 ] || fail "${b#*:} (bit ${b%%:*}) not negotiated: $feats"
done
[ "${feats:15:1}" = $mrg ] || fail "MRG_RXBUF (bit 15) is ${feats:15:1}, want $mrg: $feats"
echo "negotiated CTRL_GUEST_OFFLOADS, GUEST_CSUM, GUEST_TSO4, CTRL_VQ; receive buffers: $bufs"

gro_hw() { ethtool -k "$dev" | awk '$1 == "rx-gro-hw:" { print $2 $3 }'; }
[ "$(gro_hw)" = on ] || fail "rx-gro-hw is '$(gro_hw)', want on and switchable"

# Frames received over a second, and their average size (the driver counts bytes from the
# Ethernet header on): prints "AVG FRAMES". Shell builtins only: under TCG, with iperf3
# keeping both CPUs busy, every process started takes a while.
rx_window() {
	local p0 b0 p1 b1 s=/sys/class/net/$dev/statistics
	read -r p0 < "$s/rx_packets"
	read -r b0 < "$s/rx_bytes"
	sleep 1
	read -r p1 < "$s/rx_packets"
	read -r b1 < "$s/rx_bytes"
	echo "$(((b1 - b0) / (p1 - p0 > 0 ? p1 - p0 : 1))) $((p1 - p0))"
}

# The two counters are read one after the other while NAPI adds to them on the other CPU, so
# the average of a second of full 1514-byte frames comes out a few bytes above or below 1514.
# Coalesced frames are tens of KB: the line between the two is drawn at two full frames.
COALESCED=$((2 * 1514))

# Waits for the device to hand over coalesced frames: a second with more than 100 frames of
# more than $COALESCED bytes on average. $1: what is measured.
expect_gso() {
	local i avg n
	for ((i = 0; i < 10; i++)); do
		read -r avg n <<< "$(rx_window)"
		if [ "$n" -gt 100 ] && [ "$avg" -gt $COALESCED ]; then
			echo "$1: $n frames in 1 s, $avg bytes on average"
			return
		fi
	done
	fail "$1: no coalesced frames (last second: $n frames, $avg bytes on average)"
}

# Waits for the device to stop coalescing: three seconds in a row with more than 100 frames
# each and at most $COALESCED bytes on average. Frames the device coalesced before the switch
# still drain from the tap's queue for a while, so the first seconds may not qualify. $1: what
# is measured.
expect_mtu() {
	local i avg n good=0 seen=
	for ((i = 0; i < 15 && good < 3; i++)); do
		read -r avg n <<< "$(rx_window)"
		seen+=" $avg/$n"
		if [ "$n" -gt 100 ] && [ "$avg" -le $COALESCED ]; then
			good=$((good + 1))
		else
			good=0
		fi
	done
	[ $good = 3 ] || fail "$1: frames still coalesced or too few (bytes/frames per second:$seen)"
	echo "$1: 3 s in a row without coalesced frames (bytes/frames per second:$seen)"
}

# Every transmit on queue 0, where the knob injects its fault (XPS: both CPUs to tx-0).
echo 3 > "/sys/class/net/$dev/queues/tx-0/xps_cpus" || fail "cannot set XPS of tx-0"
echo 0 > "/sys/class/net/$dev/queues/tx-1/xps_cpus" || fail "cannot set XPS of tx-1"
ip netns exec "$PEER_NS" iperf3 -s -1 -p $IPERF_PORT -B 10.99.0.2 > /dev/null 2>&1 &
wait_for 5 iperf_listening || fail "iperf3 server did not start"
rx0=$(netdev_stat "$dev" rx_bytes)
# Long enough for the slowest run; stopped once the checks are done.
iperf3 -c 10.99.0.2 -p $IPERF_PORT -R -t 240 > /tmp/iperf.out 2>&1 &
client=$!
expect_gso "rx-gro-hw on"

must ethtool -K "$dev" rx-gro-hw off
[ "$(gro_hw)" = off ] || fail "rx-gro-hw is '$(gro_hw)' after -K off"
expect_mtu "rx-gro-hw off"

# A reset brings the device back to every negotiated offload; the driver must switch
# coalescing off again.
if [ "${RVNET_TRANSPORT:-c}" = rust ]; then
	knob=$(rvnet_knob "$NIC0")
	[ -w "$knob" ] || fail "no knob at $knob"
	recoveries=$(recovery_field "$NIC0" recoveries)
	echo 1 > "$knob" || fail "injection failed"
	wait_for 10 recovery_above "$NIC0" recoveries "$recoveries" ||
		fail "no recovery: $(cat "$(rvirtio_debugfs "$NIC0")/recovery")"
	echo "device reset and recovered by $(recovery_field "$NIC0" last_strategy)"
	[ "$(gro_hw)" = off ] || fail "rx-gro-hw is '$(gro_hw)' after the reset"
	expect_mtu "rx-gro-hw off, after the reset"
fi

must ethtool -K "$dev" rx-gro-hw on
[ "$(gro_hw)" = on ] || fail "rx-gro-hw is '$(gro_hw)' after -K on"
expect_gso "rx-gro-hw on again"

kill "$client" 2>/dev/null
wait "$client" 2>/dev/null
client=
rx=$(($(netdev_stat "$dev" rx_bytes) - rx0))
echo "$rx bytes received over the run"
[ "$rx" -gt "${RVIRTIO_MIN_BYTES:-1000000}" ] || fail "little traffic over the run ($rx bytes)"
ping_ok ping -c 3 -i 0.2 -W 2 10.99.0.2
