#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rvirtio_net's ethtool support on a multiqueue NIC with offloads (tap backend): driver
# information, link settings, rings, per-queue statistics; offloads toggled with -K while
# traffic still passes; -L from 1 to N to 1 under iperf3, each queue count seen in use.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	[ -n "${client:-}" ] && kill "$client" 2>/dev/null
	rvnet_cleanup
}
trap cleanup EXIT
dev=$(rvnet_setup) || fail "setup failed: $dev"
assert_rvirtio_net "$dev"

info=$(ethtool -i "$dev") || fail "ethtool -i failed"
echo "$info" | grep -q '^driver: rvirtio_net$' || fail "ethtool -i: $info"
echo "$info" | grep -q "^bus-info: $(virtio_of "$NIC0")$" || fail "ethtool -i bus-info: $info"
ethtool "$dev" | grep -q 'Link detected: yes' || fail "ethtool: no link"
rings=$(ethtool -g "$dev") || fail "ethtool -g failed"
echo "$rings" | awk '/^RX:/ { print "rx ring: " $2; exit }'
max=$(ethtool -l "$dev" | awk '/^Combined:/ { print $2; exit }')
[ "${max:-0}" -ge 2 ] || fail "ethtool -l: $max combined channels (want 2 or more: run-vm -Q)"
echo "combined channels: max $max, in use $(ethtool -l "$dev" | awk '/^Combined:/ { v = $2 } END { print v }')"

# Offloads: each toggle, traffic still passes and the setting took.
for f in tx-checksumming tcp-segmentation-offload scatter-gather; do
	must ethtool -K "$dev" "$f" off
	ethtool -k "$dev" | grep -q "^$f: off" || fail "$f still on"
	b=$(iperf_run 2) || fail "iperf3 with $f off failed"
	[ "$b" -gt 1000000 ] || fail "little traffic with $f off ($b bytes)"
	must ethtool -K "$dev" "$f" on
	echo "$f off: $b bytes in 2 s; back on"
done
ethtool -k "$dev" | grep -q '^tcp-segmentation-offload: on' || fail "TSO not back on"

# Channels under iperf3: 1, then all, then 1 again. After each change TCP keeps going (the
# active queues carry packets within 10 s: segments lost in the switch, e.g. ACKs on a receive
# queue that goes away, can hold TCP back for a retransmission timeout or two), and the last
# queue works: XPS maps CPU i to queue i, and a ping from the last queue's CPU goes through it.
# (One iperf3 flow stays on the queue it hashed to, so it says nothing about the others.)
tx_queue_packets() { ethtool -S "$dev" | awk -v q="tx$1_packets:" '$1 == q { print $2 }'; }
tx_active_packets() {
	local q sum=0
	for ((q = 0; q < $1; q++)); do sum=$((sum + $(tx_queue_packets $q))); done
	echo $sum
}
iperf_background 36 > /dev/null
client=$IPERF_CLIENT
sleep 1
for n in 1 "$max" 1; do
	must ethtool -L "$dev" combined "$n"
	got=$(ethtool -l "$dev" | awk '/^Combined:/ { v = $2 } END { print v }')
	[ "$got" = "$n" ] || fail "ethtool -L $n gave $got"
	a0=$(tx_active_packets "$n")
	for ((t = 1; t <= 10; t++)); do
		sleep 1
		a1=$(tx_active_packets "$n")
		[ $((a1 - a0)) -gt 100 ] && break
	done
	[ $((a1 - a0)) -gt 100 ] || fail "$n channels: $((a1 - a0)) packets sent in 10 s"
	last=$((n - 1))
	for ((q = 0; q < n; q++)); do
		echo $((1 << q)) > "/sys/class/net/$dev/queues/tx-$q/xps_cpus" ||
			fail "cannot map CPU $q to queue $q"
	done
	p0=$(tx_queue_packets "$last")
	taskset -c "$last" ping -q -c 3 -i 0.2 -W 2 10.99.0.2 > /dev/null || fail "ping on queue $last failed"
	p1=$(tx_queue_packets "$last")
	echo "combined $n: $((a1 - a0)) packets in $t s; queue tx$last sent $((p1 - p0)) packets for 3 pings"
	[ $((p1 - p0)) -ge 3 ] || fail "queue tx$last unused with $n channels"
done
wait "$client" || fail "iperf3 failed across the channel changes: $(tail -3 /tmp/iperf.out)"
client=
grep receiver /tmp/iperf.out
names=$(ethtool -S "$dev" | grep -c '_packets:')
[ "$names" -eq $((2 * max)) ] || fail "ethtool -S has $names packet counters, want $((2 * max))"
