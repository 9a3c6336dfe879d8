#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A control command that rvirtio_net gives up on keeps its place on the ring, and the device
# answers it later: the next command must wait for its own answer, not take the late one. The
# fault injection point fail_ctrl_timeout makes the next command give up at once (as if the device took longer than
# the timeout); the promiscuous mode it sets is then switched back. QEMU's receive filter
# (query-rx-filter) shows that the device carried out both commands; the ethtool counters show
# the timeout and the late answer that the second command dropped; a third command succeeds,
# and traffic passes.
. "$(dirname "$0")/../lib.sh"

trap rvnet_cleanup EXIT
dev=$(rvnet_setup) || fail "setup failed: $dev"
assert_rvirtio_net "$dev"
knob=$(rvnet_knob "$NIC0" fail_ctrl_timeout)
[ -e "$knob" ] || fail "no $knob (CONFIG_FAULT_INJECTION_DEBUG_FS)"

stat() { ethtool -S "$dev" | awk -v k="$1:" '$1 == k { print $2 }'; }
# QEMU's receive filter of nic0: field $1 (promiscuous, multicast...).
filter() {
	qmp query-rx-filter '{"name": "nic0"}' |
		python3 -c 'import json, sys; print(str(json.load(sys.stdin)[0][sys.argv[1]]).lower())' "$1"
}
filter_is() { [ "$(filter "$1")" = "$2" ]; }
stat_above() { [ "$(stat "$1")" -gt "$2" ]; }

t0=$(stat ctrl_timeouts) s0=$(stat ctrl_stale_answers)
[ -n "$t0" ] && [ -n "$s0" ] || fail "no control queue counters in ethtool -S"
filter_is promiscuous false || fail "nic0 promiscuous before the test"

echo 1 > "$knob"
must ip link set "$dev" promisc on
wait_for 5 stat_above ctrl_timeouts "$t0" || fail "the command did not time out (ctrl_timeouts $(stat ctrl_timeouts))"
# The device carried the command out all the same, and answered it.
wait_for 5 filter_is promiscuous true || fail "QEMU did not set nic0 promiscuous"
echo "promiscuous on: given up on by the driver (ctrl_timeouts $t0 -> $(stat ctrl_timeouts)), done by the device"

must ip link set "$dev" promisc off
wait_for 5 stat_above ctrl_stale_answers "$s0" ||
	fail "the late answer was not dropped (ctrl_stale_answers $(stat ctrl_stale_answers))"
wait_for 5 filter_is promiscuous false || fail "QEMU did not clear nic0's promiscuous mode"
[ "$(stat ctrl_timeouts)" = $((t0 + 1)) ] || fail "ctrl_timeouts $(stat ctrl_timeouts), expected $((t0 + 1))"
echo "promiscuous off: the late answer dropped (ctrl_stale_answers $s0 -> $(stat ctrl_stale_answers)), its own answer taken"

must ip link set "$dev" allmulticast on
wait_for 5 filter_is multicast all || fail "QEMU did not set nic0 allmulti: $(filter multicast)"
must ip link set "$dev" allmulticast off
[ "$(stat ctrl_timeouts)" = $((t0 + 1)) ] || fail "a later command timed out"
[ "$(stat ctrl_stale_answers)" = $((s0 + 1)) ] || fail "ctrl_stale_answers $(stat ctrl_stale_answers), expected $((s0 + 1))"
ping_ok ping -c 3 -i 0.2 -W 2 10.99.0.2
