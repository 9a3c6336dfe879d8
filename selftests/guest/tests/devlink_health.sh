#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# devlink health drives the recovery of an rvirtio-pci device (C virtio_net on top), with
# iproute2's devlink (and devlink dev param sets its policy):
#  - the device has a devlink instance with a "needs_reset" reporter, healthy at first;
#  - "devlink health test" makes the device raise NEEDS_RESET (QEMU reports the error): the
#    reporter counts the error and the automatic recovery, a dump of the queues is kept, and
#    diagnose shows the recovery; traffic flows again;
#  - with auto_recover off, the next fault is counted but not recovered: the device stays
#    broken (QMP), the interface passes nothing, until "devlink health recover";
#  - with a grace period, a fault right after a recovery is held the same way;
#  - "devlink health recover" racing the unbind of a held device: neither hangs, the instance
#    goes away with the device, and the C virtio-pci drives the NIC afterwards.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	netns_cleanup
	rvirtio_release "$NIC0"
}
trap cleanup EXIT
# A fault held (auto_recover off) stops the NIC's transmit queue until the recovery by hand:
# the stack's transmit watchdog may report it (5 s) on a loaded host.
expect_splat 'NETDEV WATCHDOG: .*transmit queue [0-9]+ timed out'

handle=pci/$NIC0
rep=(reporter needs_reset)

# Prints field $1 of the reporter, as "devlink -j health show" names it.
health() {
	devlink -j health show "$handle" "${rep[@]}" | python3 -c '
import json, sys
for reps in json.load(sys.stdin)["health"].values():
    for r in reps:
        if r.get("reporter", r.get("name")) == "needs_reset":
            v = r[sys.argv[1]]
            print(str(v).lower() if isinstance(v, bool) else v)
' "$1"
}
health_is() { [ "$(health "$1")" = "$2" ]; }
# Prints key $1 (a path like "recoveries.recovered") of "devlink -j health diagnose".
diagnose() {
	devlink -j health diagnose "$handle" "${rep[@]}" | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[k]
print(str(v).lower() if isinstance(v, bool) else v)
' "$1"
}
pings() { ping -c 1 -W 1 10.99.0.2 > /dev/null 2>&1; }

must kmod_load virtio_net
rvirtio_take "$NIC0"
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface"
dev=$(netns_setup) || fail "namespace setup failed: $dev"
pings || fail "no ping before the faults"

devlink dev show | grep -qx "$handle" || fail "no devlink instance $handle: $(devlink dev show)"
devlink health show "$handle" "${rep[@]}" || fail "no needs_reset reporter"
[ "$(health state)" = healthy ] && [ "$(health error)" = 0 ] && [ "$(health recover)" = 0 ] ||
	fail "the reporter does not start healthy: $(devlink health show "$handle" "${rep[@]}")"

# 1. A fault that devlink recovers automatically.
errors=$(device_errors)
must devlink health test "$handle" "${rep[@]}"
assert_device_raised "$errors" "devlink health test did not make the device fail"
wait_for 5 health_is recover 1 || fail "no recovery counted: $(devlink health show "$handle" "${rep[@]}")"
[ "$(health error)" = 1 ] || fail "devlink counted $(health error) errors for one fault"
wait_for 5 health_is state healthy || fail "the reporter is $(health state) after the recovery"
assert_broken nic0 false "the device is still broken after the automatic recovery"
wait_for 10 pings || fail "no traffic after the automatic recovery"
devlink health dump show "$handle" "${rep[@]}" || fail "no dump kept of the fault"
held=$(devlink -j health dump show "$handle" "${rep[@]}" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["queues"], d["in_flight"], len(d["queue"]), d["detector"])')
read -r queues in_flight listed detector <<< "$held"
[ "$queues" -ge 3 ] && [ "$listed" = "$queues" ] ||
	fail "the dump lists $listed of $queues queues"
[ "$in_flight" -ge 1 ] || fail "the dump shows nothing in flight (receive buffers at least)"
devlink health diagnose "$handle" "${rep[@]}"
[ "$(diagnose recoveries.recovered)" = 1 ] && [ "$(diagnose state)" = idle ] ||
	fail "diagnose does not show the recovery"
echo "automatic: dump of the fault (found by $detector): $in_flight descriptors in flight on $queues queues; $(diagnose last_recovery.strategy) in $(diagnose last_recovery.duration_us) us"

# The policy's devlink parameters: the defaults, what is refused, a change that the policy
# takes (diagnose shows its limits).
param() {
	devlink -j dev param show "$handle" name "$1" | python3 -c '
import json, sys
for params in json.load(sys.stdin)["param"].values():
    for p in params:
        print(p["values"][0]["value"])'
}
setp() { devlink dev param set "$handle" name "$1" value "$2" cmode runtime; }
for p in recovery_max=5 recovery_window_ms=60000 recovery_backoff_ms=100 \
	recovery_backoff_max_ms=5000 recovery_strategy=0; do
	[ "$(param "${p%%=*}")" = "${p#*=}" ] || fail "devlink parameter ${p%%=*} is $(param "${p%%=*}"), not ${p#*=}"
done
for p in recovery_max=0 recovery_max=33 recovery_window_ms=0 recovery_strategy=4; do
	setp "${p%%=*}" "${p#*=}" 2> /dev/null && fail "devlink took $p"
done
[ "$(param recovery_max)" = 5 ] || fail "a refused value changed recovery_max"
must setp recovery_max 7
must setp recovery_window_ms 30000
[ "$(param recovery_max)" = 7 ] && [ "$(diagnose limits.max_recoveries)" = 7 ] &&
	[ "$(diagnose limits.window_ms)" = 30000 ] ||
	fail "the policy does not have the parameters set: $(devlink health diagnose "$handle" "${rep[@]}")"
echo "devlink parameters: defaults, refused values and a change seen by the policy"

# 2. auto_recover off: counted, not recovered, until "devlink health recover".
must devlink health set "$handle" "${rep[@]}" auto_recover false
errors=$(device_errors)
must devlink health test "$handle" "${rep[@]}"
assert_device_raised "$errors" "the second fault was not raised"
wait_for 5 health_is error 2 || fail "the second fault was not counted: $(health error) errors"
wait_for 5 health_is state error || fail "the reporter is $(health state) with auto_recover off"
sleep 1
[ "$(health recover)" = 1 ] || fail "recovered with auto_recover off"
assert_broken nic0 true "the device was reset with auto_recover off"
[ "$(diagnose state)" = held ] || fail "diagnose says $(diagnose state), not held"
pings && fail "traffic flows through a device that needs a reset"
must devlink health recover "$handle" "${rep[@]}"
[ "$(health recover)" = 2 ] && [ "$(health state)" = healthy ] ||
	fail "devlink health recover did not recover: $(devlink health show "$handle" "${rep[@]}")"
assert_broken nic0 false "the device is still broken after devlink health recover"
wait_for 10 pings || fail "no traffic after devlink health recover"
echo "auto_recover off: the fault was held until devlink health recover"

# 3. A grace period: a fault right after a recovery is held too.
must devlink health set "$handle" "${rep[@]}" auto_recover true grace_period 600000
errors=$(device_errors)
must devlink health test "$handle" "${rep[@]}"
assert_device_raised "$errors" "the third fault was not raised"
wait_for 5 health_is error 3 || fail "the third fault was not counted"
wait_for 5 health_is state error || fail "the reporter is $(health state) in its grace period"
[ "$(health recover)" = 2 ] || fail "recovered in the grace period"
must devlink health recover "$handle" "${rep[@]}"
wait_for 10 pings || fail "no traffic after the recovery out of the grace period"
echo "grace period: the fault was held until devlink health recover"
[ "$(recovery_field "$NIC0" failed)" = 0 ] || fail "the device was marked failed"

# 4. A recovery asked for while the device is unbound: each waits for the other.
must devlink health set "$handle" "${rep[@]}" auto_recover false grace_period 0
errors=$(device_errors)
must devlink health test "$handle" "${rep[@]}"
assert_device_raised "$errors" "the fault before the unbind was not raised"
wait_for 5 health_is state error || fail "the fault before the unbind is not held"
netns_cleanup
devlink health recover "$handle" "${rep[@]}" > /tmp/recover.out 2>&1 &
recover=$!
rvirtio_release "$NIC0"
wait "$recover"
echo "devlink health recover racing the unbind: exit $?, $(head -c 200 /tmp/recover.out)"
devlink dev show | grep -qx "$handle" && fail "$handle is still there after the unbind"
[ "$(pci_driver "$NIC0")" = virtio-pci ] || fail "$NIC0 is not back on virtio-pci"
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface on virtio-pci"
dev=$(netns_setup) || fail "namespace setup failed on virtio-pci: $dev"
wait_for 10 pings || fail "no traffic on virtio-pci after the unbind"
exit 0
