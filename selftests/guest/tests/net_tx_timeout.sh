#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rvirtio_net's transmit watchdog asks rvirtio-pci to check the device, which then recovers
# it: with the status check off (status_poll_ms=0) and the configuration vector detached by
# the fault injection, nothing else can find the fault. A UDP sender fills the transmit queue of
# the broken device (QEMU completes nothing) until the stack stops the queue, its watchdog
# fires 5 s later, and rvirtio_net's tx_timeout reads the device status. Asserts QEMU's
# "broken" flag before and after, who found the fault, the driver's timeout counter and
# message, that the transport saw the transmit queue's descriptors in flight when the recovery
# started, and traffic after; $RVIRTIO_TIMEOUT_ROUNDS times (default 10). Prints the detection
# latency.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	kill "${FLOOD:-}" 2>/dev/null
	rvnet_cleanup
}
trap cleanup EXIT
export RVNET_TRANSPORT=rust
# The stack's own report of each timeout.
expect_splat 'NETDEV WATCHDOG: .*transmit queue [0-9]+ timed out'
must kmod_load virtio_net
must rvirtio_load rvirtio_pci status_poll_ms=0
dev=$(rvnet_setup recovery_window_ms=200) || fail "setup failed: $dev"
assert_rvirtio_net "$dev"
[ "$(recovery_field "$NIC0" status_poll_ms)" = 0 ] || fail "status check not off"
ping_ok ping -c 3 -i 0.2 -W 2 10.99.0.2
dfs=$(rvirtio_debugfs "$NIC0")
timeouts() { ethtool -S "$dev" | awk '$1 == "tx0_timeouts:" { print $2 }'; }
ethtool -S "$dev" | grep -i timeout
rounds=${RVIRTIO_TIMEOUT_ROUNDS:-10}
lats=() helds=()
for ((i = 1; i <= rounds; i++)); do
	t0=$(timeouts)
	[ -n "$t0" ] || fail "no timeouts counter in ethtool -S"
	# Not dmesg -C: the final dmesg must keep the expect_splat line above.
	echo "rvirtio: net_tx_timeout round $i" > /dev/kmsg
	# UDP in bursts, ignoring errors, with a send buffer larger than the ring and any byte
	# queue limit: the stack stops the queue however much the limit grew (a flood ping gave
	# up once its socket's buffer was full, before the limit was reached).
	python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 32, 16 << 20)  # SO_SNDBUFFORCE
s.setblocking(False)
end = time.monotonic() + 40
while time.monotonic() < end:
    for _ in range(64):
        try:
            s.sendto(bytes(1400), ("10.99.0.2", 9))
        except OSError:
            break
    time.sleep(0.002)
' > /dev/null 2>&1 &
	FLOOD=$!
	sleep 1
	echo $NIC0_INJECT_Q > "$dfs/inject_silent" || fail "round $i: injection failed"
	assert_broken nic0 true "round $i: QEMU does not report nic0 broken"
	if ! wait_for 20 recovery_above "$NIC0" recoveries $((i - 1)); then
		ethtool -S "$dev" | grep tx0_
		grep -H . /sys/class/net/"$dev"/queues/tx-0/byte_queue_limits/* /sys/class/net/"$dev"/queues/tx-0/tx_timeout
		ip -s link show "$dev"
		tc -s qdisc show dev "$dev"
		ip neigh show dev "$dev"
		kill -0 "$FLOOD" 2>/dev/null && echo "sender running" || echo "sender gone"
		fail "round $i: no recovery: $(cat "$dfs/recovery")"
	fi
	kill "$FLOOD" 2>/dev/null
	wait "$FLOOD" 2>/dev/null
	FLOOD=
	[ "$(recovery_field "$NIC0" last_detector)" = driver ] ||
		fail "round $i: found by $(recovery_field "$NIC0" last_detector), not the driver"
	[ "$(timeouts)" -gt "$t0" ] || fail "round $i: rvirtio_net counted no transmit timeout"
	round_log=$(dmesg | sed -n "/rvirtio: net_tx_timeout round $i\$/,\$p")
	echo "$round_log" | grep -q 'transmit timeout on queue .*needs a reset' ||
		fail "round $i: no transmit timeout message naming the reset: $(echo "$round_log" | tail -5)"
	lats+=("$(recovery_field "$NIC0" last_detection_latency_us)")
	# What the transport found on the transmit queue (1) when the recovery started.
	line=$(grep '^last_in_flight:' "$dfs/recovery")
	held=$(echo "$line" | sed -n 's/.*q1 \([0-9]*\).*/\1/p')
	[ -n "$held" ] && [ "$held" -gt 0 ] ||
		fail "round $i: the transport saw nothing in flight on the transmit queue: $line"
	helds+=("$held")
	assert_broken nic0 false "round $i: nic0 still broken after the recovery"
	wait_for 10 ping -c 1 -W 1 10.99.0.2 || fail "round $i: no ping after the recovery"
done
dmesg | grep 'transmit timeout' | tail -n 1
for f in detected_by_interrupt detected_by_poll; do
	[ "$(recovery_field "$NIC0" $f)" = 0 ] || fail "$f is not 0"
done
[ "$(recovery_field "$NIC0" detected_by_driver)" = "$rounds" ] || fail "not every round found by the driver"
read -r med min max <<< "$(printf '%s\n' "${lats[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }')"
echo "detection latency, rvirtio_net's transmit watchdog (status check off, configuration vector detached): median $((med / 1000)) ms, min $((min / 1000)), max $((max / 1000)) ($rounds rounds)"
echo "descriptors in flight on the transmit queue when each recovery started: ${helds[*]}"
ping_ok ping -c 3 -i 0.2 -W 2 10.99.0.2
