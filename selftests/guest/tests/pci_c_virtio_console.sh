#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Upstream C virtio_console on the rvirtio-pci transport: a virtio-serial device with its
# control queues (the port and its name arrive from the device over the control receive queue)
# and a port backed by a QEMU ring buffer, whose content QMP ringbuf-read checks. (A ring
# buffer only receives: QMP ringbuf-write does not reach the guest.)
. "$(dirname "$0")/../lib.sh"

cleanup() {
	rvirtio_release "$CON0"
}
trap cleanup EXIT

# virtio_console is loaded at boot for the QMP channel.
rvirtio_take "$CON0"
vdev=$(virtio_of "$CON0") || fail "no virtio device on $CON0"

port_of() {
	local p
	for p in /sys/class/virtio-ports/*; do
		[ "$(cat "$p/name" 2>/dev/null)" = org.rvirtio.test ] || continue
		readlink -f "$p/device" | grep -q "/$vdev\$" && { basename "$p"; return 0; }
	done
	return 1
}
wait_for 5 port_of || fail "no port org.rvirtio.test on $vdev"
port=/dev/$(port_of)
wait_for 5 test -c "$port" || fail "no $port"
echo "$vdev on rvirtio-pci: port $port; vectors:"
grep "$vdev" /proc/interrupts | sed 's/^ */  /'

msg="guest-to-host-$RANDOM"
printf '%s' "$msg" > "$port" || fail "write to $port failed"
got=$(qmp ringbuf-read '{"device": "rb0", "size": 1024, "format": "utf8"}') || fail "ringbuf-read failed"
echo "host read: $got"
echo "$got" | grep -q "$msg" || fail "host did not receive '$msg'"

