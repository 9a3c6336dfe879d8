#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A recovery racing with removal is run or waited for cleanly, $RVIRTIO_RACE_ROUNDS times
# (default 10), unbinding the PCI device and unloading rvirtio_pci in turn:
#
# - even rounds race a recovery that is scheduled: a first fault is recovered, a second one
#   within the window is delayed by the backoff (20 s here, room for a QMP query that shows
#   the device broken meanwhile; the removal runs the recovery at once, so no round waits for
#   the backoff), and the removal comes once the transport shows the recovery scheduled;
# - odd rounds remove right after injecting, while the recovery may be scheduled or running.
#
# rvirtio-pci logs the recovery's state when the removal starts ("unbinding while a recovery
# is ..."): the test counts the rounds that really raced, and fails unless every even round
# did. Nothing hangs (the runner's splat check covers use-after-free and lockdep on the debug
# flavour), and the device works on the C transport afterwards.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	kill "$PINGER" 2>/dev/null
	netns_cleanup
	rvirtio_release "$NIC0"
}
trap cleanup EXIT
# Even rounds hold a broken device under the pinger until the removal: the stack's
# transmit watchdog may report the stopped queue meanwhile.
expect_splat 'NETDEV WATCHDOG: .*transmit queue [0-9]+ timed out'

must kmod_load virtio_net
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface on the C transport"
netns_setup > /dev/null || fail "namespace setup failed"
rounds=${RVIRTIO_RACE_ROUNDS:-10}
raced=0 forced=0
for ((i = 0; i < rounds; i++)); do
	rvirtio_take "$NIC0" recovery_backoff_ms=20000 recovery_backoff_max_ms=20000
	wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "round $i: no interface"
	dev=$(netdev_by_mac "$NIC0_MAC")
	ip addr add 10.99.0.1/24 dev "$dev"
	ip link set "$dev" up
	ping -i 0.02 -W 1 10.99.0.2 > /dev/null 2>&1 &
	PINGER=$!
	sleep 0.2
	dfs=$(rvirtio_debugfs "$NIC0")
	if ((i % 2 == 0)); then
		echo $NIC0_INJECT_Q > "$dfs/inject" || fail "round $i: injection failed"
		wait_for 5 recovery_above "$NIC0" recoveries 0 || fail "round $i: first fault not recovered"
		wait_for 5 ping -c 1 -W 1 10.99.0.2 || fail "round $i: no ping after the first recovery"
		echo $NIC0_INJECT_Q > "$dfs/inject" || fail "round $i: second injection failed"
		wait_for 1 test "$(recovery_field "$NIC0" state)" = scheduled ||
			fail "round $i: second recovery not scheduled: $(cat "$dfs/recovery")"
		# The backoff holds the recovery: QEMU's flag is still set.
		assert_broken nic0 true "round $i: nic0 not broken while its recovery is held"
		forced=$((forced + 1))
	else
		echo $NIC0_INJECT_Q > "$dfs/inject" || fail "round $i: injection failed"
	fi
	dmesg -C
	# Again: the final dmesg must hold the expectation.
	expect_splat 'NETDEV WATCHDOG: .*transmit queue [0-9]+ timed out'
	if ((i / 2 % 2)); then
		timeout 20 rmmod rvirtio_pci || fail "round $i: rmmod failed or hung"
		how=rmmod
	else
		timeout 20 bash -c "echo $NIC0 > /sys/bus/pci/drivers/rvirtio-pci/unbind" ||
			fail "round $i: unbind failed or hung"
		how=unbind
	fi
	state=$(dmesg | sed -n 's/.*unbinding while a recovery is \([a-z]*\).*/\1/p' | head -n 1)
	kill "$PINGER" 2>/dev/null
	wait "$PINGER" 2>/dev/null
	rvirtio_release "$NIC0"
	wait_for 10 netdev_by_mac "$NIC0_MAC" || fail "round $i: no interface on the C transport"
	if [ -n "$state" ]; then
		raced=$((raced + 1))
		echo "round $i: inject + $how, raced a $state recovery"
	else
		echo "round $i: inject + $how, the recovery was over (or not yet scheduled)"
		((i % 2 == 0)) && fail "round $i: the scheduled recovery did not race the $how"
	fi
done
dev=$(netdev_by_mac "$NIC0_MAC")
ip addr add 10.99.0.1/24 dev "$dev"
ip link set "$dev" up
wait_for 10 ping -c 1 -W 1 10.99.0.2 || fail "the device does not work afterwards"
assert_broken nic0 false "nic0 still broken on the C transport"
echo "$raced of $rounds rounds raced a recovery ($forced forced), device fine afterwards"
[ "$raced" -ge "$forced" ] && [ "$raced" -gt 0 ] || fail "too few rounds raced"
