#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Upstream C virtio_net on the rvirtio-pci transport: ping both ways and an iperf3 TCP run to
# the peer, with the bytes checked against the interface counters, and the interrupts of the
# expected mode ($RVIRTIO_EXPECT_IRQ: per-queue, shared or intx) counting.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	netns_cleanup
	rvirtio_release "$NIC0"
}
trap cleanup EXIT

must kmod_load virtio_net
rvirtio_take "$NIC0"
vdev=$(virtio_of "$NIC0") || fail "no virtio device on $NIC0"
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface on $vdev"
drv=$(basename "$(readlink /sys/bus/virtio/devices/$vdev/driver)")
[ "$drv" = virtio_net ] || fail "$vdev driven by '$drv'"
dev=$(netns_setup) || fail "namespace setup failed: $dev"
echo "$vdev on rvirtio-pci, driven by $drv as $dev"

for target in 10.99.0.2 fd99::2; do
	out=$(ping -c 5 -i 0.2 -W 2 "$target" 2>&1)
	echo "$out" | tail -n 1
	echo "$out" | grep -q ' 0% packet loss' || fail "ping $target lost packets"
done
out=$(ip netns exec "$PEER_NS" ping -c 5 -i 0.2 -W 2 10.99.0.1 2>&1)
echo "$out" | grep -q ' 0% packet loss' || fail "ping from the peer lost packets"

tx0=$(cat /sys/class/net/$dev/statistics/tx_bytes) re0=$(tcp_retrans)
out=$(IPERF_SENT=1 iperf_run 3) || fail "iperf3 failed: $out"
read -r bytes written <<< "$out"
tx1=$(cat /sys/class/net/$dev/statistics/tx_bytes)
sent=$((tx1 - tx0)) re=$(($(tcp_retrans) - re0))
echo "iperf3: $bytes bytes received by the peer ($written written), $sent bytes sent by $dev, $re segments retransmitted"
# At least 1 MB in 3 s (the debug kernel under TCG manages a tenth of that: it lowers the bar).
min=${RVIRTIO_MIN_BYTES:-1000000}
[ "$bytes" -gt "$min" ] || fail "iperf3 moved only $bytes bytes (minimum $min)"
# TCP/IP and Ethernet headers add a few percent, retransmitted segments a full frame each; the
# counters must cover what the peer received, and not much more than what iperf3 wrote (part of
# which may still have been in flight, unreceived, when the test ended).
[ "$sent" -ge "$bytes" ] || fail "tx_bytes ($sent) below the payload ($bytes)"
[ "$sent" -le $((written + written / 10 + re * 1514 + 1000000)) ] ||
	fail "tx_bytes ($sent) far above the payload ($written written)"

mode=${RVIRTIO_EXPECT_IRQ:-per-queue}
grep "$vdev" /proc/interrupts
case $mode in
per-queue)
	for q in input.0 output.0; do
		[ "$(irq_count "$vdev-$q")" -gt 0 ] || fail "no interrupts on $vdev-$q"
	done
	[ "$(irq_count "$vdev-config")" -ge 0 ] || fail "no $vdev-config vector"
	;;
shared)
	[ "$(irq_count "$vdev-virtqueues")" -gt 0 ] || fail "no interrupts on $vdev-virtqueues"
	[ "$(irq_count "$vdev-config")" -ge 0 ] || fail "no $vdev-config vector"
	[ "$(irq_count "$vdev-input.0")" = -1 ] || fail "per-queue vectors in shared mode"
	;;
intx)
	[ "$(irq_count "$vdev")" -gt 0 ] || fail "no interrupts on the INTx line of $vdev"
	[ "$(irq_count "$vdev-config")" = -1 ] || fail "MSI-X vectors in INTx mode"
	;;
*) fail "unknown RVIRTIO_EXPECT_IRQ '$mode'" ;;
esac
echo "interrupt mode: $mode"
