#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A NIC that breaks with buffers in flight both ways, and in the middle of a burst of control
# commands, loses no more than those buffers; for the upstream C virtio_net and for
# rvirtio_net, both on rvirtio-pci. rvirtio_net counts every packet it lost as dropped.
#
# Traffic: iperf3 runs both ways (--bidir), and the device breaks 2 s into it. Asserts buffers in flight at the reset
# (the transport's count, per queue: the receive ring's always, the transmit ring's only when
# QEMU had not sent them yet, which it does within microseconds, so it is printed, not
# asserted), the iperf3 run completing, and bytes moving both ways after the recovery.
# Accounting (rvirtio_net, last): a UDP flood, the device broken in the middle. Once nothing
# is in flight, the root qdisc's count of packets given to the driver must equal what
# rvirtio_net counts as sent plus dropped (its own counters: the interface's tx_dropped also
# counts the packets the core drops while the qdisc is deactivated, carrier off).
# Control: "ip link set promisc" toggles without pause while the device breaks. Asserts that
# every command returns (success or an error) within the bound, that the recovery happened
# meanwhile, and that the device's receive filter then follows the next commands (QMP
# query-rx-filter): no command reads a stale answer.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	pkill iperf3
	touch /tmp/ctl.stop
	wait
	rvnet_cleanup
}
trap cleanup EXIT
export RVNET_TRANSPORT=rust
must kmod_load virtio_net
must rvirtio_load rvirtio_net

# QEMU's view of promiscuous mode on nic0.
qemu_promisc() {
	qmp query-rx-filter '{"name": "nic0"}' |
		python3 -c 'import json, sys; print(str(json.load(sys.stdin)[0]["promiscuous"]).lower())'
}
qemu_promisc_is() { [ "$(qemu_promisc)" = "$1" ]; }

run() { # run DRIVER
	local drv=$1 dev r rx0 tx0 rx1 tx1 q0 n s errors in_flight
	if [ "$drv" = virtio_net ]; then
		rvirtio_take "$NIC0" recovery_window_ms=200
		wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface"
		dev=$(netns_setup) || fail "namespace setup failed: $dev"
	else
		dev=$(rvnet_setup recovery_window_ms=200) || fail "setup failed: $dev"
		assert_rvirtio_net "$dev"
	fi

	# Both ways at once.
	errors=$(device_errors)
	r=$(recovery_field "$NIC0" recoveries)
	ip netns exec "$PEER_NS" iperf3 -s -1 -p $IPERF_PORT -B 10.99.0.2 > /dev/null 2>&1 &
	wait_for 5 iperf_listening || fail "iperf3 server did not start"
	iperf3 -c 10.99.0.2 -p $IPERF_PORT -t 8 --bidir > /tmp/iperf.out 2>&1 &
	local client=$!
	sleep 2
	echo "$NIC0_INJECT_Q" > "$(rvirtio_debugfs "$NIC0")/inject" || fail "injection failed"
	wait_for 5 recovery_above "$NIC0" recoveries "$r" ||
		fail "$drv: no recovery: $(cat "$(rvirtio_debugfs "$NIC0")/recovery")"
	# The counters first: the checks that follow may take seconds on a loaded host (QEMU's
	# report reaches its log late), and iperf3 may be over by then.
	rx0=$(netdev_stat "$dev" rx_bytes) tx0=$(netdev_stat "$dev" tx_bytes)
	kill -0 "$client" 2> /dev/null || fail "$drv: iperf3 ended before the recovery was over"
	assert_device_raised "$errors" "$drv: the device did not raise the error itself"
	in_flight=$(grep last_in_flight "$(rvirtio_debugfs "$NIC0")/recovery")
	q0=$(echo "$in_flight" | sed -n 's/.*q0 \([0-9]*\).*/\1/p')
	[ "${q0:-0}" -ge 1 ] || fail "$drv: no receive buffer in flight at the reset ($in_flight)"
	wait "$client" || fail "$drv: iperf3 failed across the recovery: $(tail -3 /tmp/iperf.out)"
	rx1=$(netdev_stat "$dev" rx_bytes) tx1=$(netdev_stat "$dev" tx_bytes)
	[ $((rx1 - rx0)) -gt 100000 ] && [ $((tx1 - tx0)) -gt 100000 ] ||
		fail "$drv: little traffic on $dev after the recovery (received $((rx1 - rx0)), sent $((tx1 - tx0)) bytes): $(tail -8 /tmp/iperf.out)"
	echo "$drv, iperf3 both ways: $in_flight; after the recovery $((rx1 - rx0)) bytes received, $((tx1 - tx0)) sent"
	grep -E "(sender|receiver)$" /tmp/iperf.out | grep SUM || grep -E "receiver$" /tmp/iperf.out

	# A burst of control commands.
	rm -f /tmp/ctl.stop /tmp/ctl.log
	(
		n=0 e=0
		while [ ! -e /tmp/ctl.stop ]; do
			ip link set dev "$dev" promisc on 2> /dev/null || e=$((e + 1))
			ip link set dev "$dev" promisc off 2> /dev/null || e=$((e + 1))
			n=$((n + 2))
		done
		echo "$n $e" > /tmp/ctl.log
	) &
	local burst=$!
	r=$(recovery_field "$NIC0" recoveries)
	sleep 1
	echo "$NIC0_INJECT_Q" > "$(rvirtio_debugfs "$NIC0")/inject" || fail "injection failed"
	wait_for 5 recovery_above "$NIC0" recoveries "$r" ||
		fail "$drv: no recovery during the burst: $(cat "$(rvirtio_debugfs "$NIC0")/recovery")"
	sleep 1
	touch /tmp/ctl.stop
	for ((s = 0; s < 100; s++)); do
		kill -0 "$burst" 2> /dev/null || break
		sleep 0.1
	done
	kill -0 "$burst" 2> /dev/null && fail "$drv: a control command still waits 10 s after the burst ended"
	wait "$burst"
	read -r n s < /tmp/ctl.log
	echo "$drv, control burst: $n commands, $s failed, one recovery in the middle"
	# The next commands reach the device, and their answers are their own.
	must ip link set dev "$dev" promisc on
	wait_for 5 qemu_promisc_is true || fail "$drv: QEMU's filter is not promiscuous after 'promisc on'"
	must ip link set dev "$dev" promisc off
	wait_for 5 qemu_promisc_is false || fail "$drv: QEMU's filter is still promiscuous after 'promisc off'"

	# Every packet the stack handed to the driver across a recovery is sent or counted as
	# dropped: a UDP flood (no segmentation offload, so that the qdisc and the driver count
	# the same packets), the device broken in the middle. Once nothing is in flight any more,
	# the qdisc's count of packets given to the driver equals the driver's sent plus dropped.
	# rvirtio_net only: upstream virtio_net's restore allocates new queues, whose counters
	# start again from zero.
	if [ "$drv" = rvirtio_net ]; then
		# The driver's own counters (ethtool -S, summed over the transmit queues): the
		# interface's tx_dropped also counts what the core dropped without giving it to the
		# driver, e.g. while the carrier was off and the qdisc deactivated.
		drv_tx() { ethtool -S "$dev" | awk -v k="_$1:" '$1 ~ /^tx[0-9]+_/ && substr($1, index($1, "_")) == k { n += $2 } END { print n + 0 }'; }
		# The counts start from a moment when nothing is in flight (none counted by the
		# qdisc only), the same before and after the driver's counters are read.
		counts_at_rest() {
			s0=$(qdisc_sent "$dev") p0=$(drv_tx packets) d0=$(drv_tx dropped)
			c0=$(netdev_stat "$dev" tx_dropped)
			bql_idle "$dev" && [ "$(qdisc_sent "$dev")" = "$s0" ]
		}
		# (wait_for runs it in this shell: the last, successful, call sets the counts.)
		wait_for 10 counts_at_rest || fail "$drv: never nothing in flight: $(bql_show "$dev")"
		r=$(recovery_field "$NIC0" recoveries)
		python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.time() + float(sys.argv[1])
while time.time() < end:
    try:
        s.sendto(bytes(1000), ("10.99.0.2", 9))
    except OSError:
        pass
' 4 &
		local flood=$!
		sleep 1.5
		echo "$NIC0_INJECT_Q" > "$(rvirtio_debugfs "$NIC0")/inject" || fail "injection failed"
		wait_for 5 recovery_above "$NIC0" recoveries "$r" ||
			fail "$drv: no recovery during the flood: $(cat "$(rvirtio_debugfs "$NIC0")/recovery")"
		in_flight=$(grep last_in_flight "$(rvirtio_debugfs "$NIC0")/recovery")
		wait "$flood"
		wait_for 10 bql_idle "$dev" || fail "$drv: bytes still in flight after the flood: $(bql_show "$dev")"
		# The counters settle once the last completions are reclaimed.
		counts() {
			n=$(($(qdisc_sent "$dev") - s0)) s=$(($(drv_tx packets) - p0))
			d=$(($(drv_tx dropped) - d0))
			[ $((n - s - d)) = 0 ]
		}
		wait_for 5 counts
		c=$(($(netdev_stat "$dev" tx_dropped) - c0 - d))
		echo "$drv, UDP flood: $in_flight; $n packets given to the driver, $s sent, $d counted as dropped by the driver ($c more by the core)"
		[ "$s" -gt 0 ] || fail "$drv: nothing of the flood was sent"
		[ $((n - s - d)) = 0 ] ||
			fail "$drv: $((n - s - d)) packets given to the driver were neither sent nor counted as dropped"
	fi

	if [ "$drv" = virtio_net ]; then
		netns_cleanup
		rvirtio_release "$NIC0"
	else
		rvnet_cleanup
	fi
}

run virtio_net
run rvirtio_net
