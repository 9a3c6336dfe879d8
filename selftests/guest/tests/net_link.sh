#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The link state QEMU reports (set_link over QMP, F_STATUS and a configuration interrupt)
# reaches rvirtio_net's carrier, both ways, and traffic passes again once the link is up.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	qmp set_link '{"name": "nic0", "up": true}' > /dev/null 2>&1
	rvnet_cleanup
}
trap cleanup EXIT
dev=$(rvnet_setup) || fail "setup failed: $dev"
assert_rvirtio_net "$dev"
carrier() { [ "$(cat "/sys/class/net/$dev/carrier")" = "$1" ]; }
wait_for 5 carrier 1 || fail "no carrier at start"
changes0=$(cat "/sys/class/net/$dev/carrier_changes")

must qmp set_link '{"name": "nic0", "up": false}'
wait_for 5 carrier 0 || fail "carrier still on after set_link down"
echo "link down seen"
ping -c 2 -W 1 10.99.0.2 > /dev/null 2>&1 && fail "ping passed with the link down"

must qmp set_link '{"name": "nic0", "up": true}'
wait_for 5 carrier 1 || fail "carrier still off after set_link up"
echo "link up seen"
changes=$(($(cat "/sys/class/net/$dev/carrier_changes") - changes0))
[ "$changes" -ge 2 ] || fail "only $changes carrier changes"
wait_for 5 ping -c 1 -W 1 10.99.0.2 || fail "no traffic after the link came back"
ping_ok ping -c 5 -i 0.2 -W 2 10.99.0.2
