#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rvirtio-pci recovers a virtio-net device that asks for a reset, and devlink health shows and
# drives the recovery.
#
# Needs two virtio-net PCI devices on one link (QEMU: two NICs on one hub or bridge):
# RVIRTIO_PCI_DEV is moved to rvirtio-pci, RVIRTIO_PCI_PEER stays on its driver and answers
# pings from a network namespace. Without them, the first two virtio-net devices found are
# used. Needs iproute2's devlink, and CONFIG_FAULT_INJECTION for "devlink health test", which
# makes the device raise DEVICE_NEEDS_RESET.
#
#  1. the device binds to rvirtio-pci, with a virtio-net interface and a healthy reporter;
#  2. a fault is counted and recovered automatically, and traffic flows again;
#  3. with auto_recover off, a fault is counted but held: no traffic until
#     "devlink health recover".

KSFT_PASS=0 KSFT_FAIL=1 KSFT_SKIP=4
NS=rvirtio-ks-peer
ntest=0 nfail=0

ok() { ntest=$((ntest + 1)); echo "ok $ntest $1"; }
not_ok() { ntest=$((ntest + 1)); nfail=$((nfail + 1)); echo "not ok $ntest $1"; }
diag() { echo "# $*"; }
skip_all() { echo "1..0 # SKIP $*"; exit $KSFT_SKIP; }
wait_for() { # wait_for SECONDS COMMAND...: polls every 0.1 s until SECONDS have passed
	local end=$((SECONDS + $1))
	until "${@:2}"; do
		((SECONDS < end)) || return 1
		sleep 0.1
	done
}

echo "TAP version 13"
[ "$(id -u)" = 0 ] || skip_all "needs root"
command -v devlink > /dev/null || skip_all "needs iproute2's devlink"

virtio_nets() {
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1041 ] &&
			basename "$d"
	done
}
# shellcheck disable=SC2207 # PCI addresses: no spaces
found=($(virtio_nets))
DEV=${RVIRTIO_PCI_DEV:-${found[0]:-}}
PEER=${RVIRTIO_PCI_PEER:-${found[1]:-}}
[ -n "$DEV" ] && [ -n "$PEER" ] || skip_all "needs two virtio-net PCI devices on one link"
grep -q '^rvirtio_pci ' /proc/modules || modprobe rvirtio_pci 2> /dev/null ||
	skip_all "rvirtio_pci is not available"
modprobe -q virtio_net 2> /dev/null

sysfs=/sys/bus/pci/devices/$DEV
handle=pci/$DEV
rep=(reporter needs_reset)
old_driver=$(basename "$(readlink "$sysfs/driver" 2> /dev/null)")

netdev_of() { # netdev_of PCI-ADDRESS: its virtio device's interface
	local n
	for n in /sys/bus/pci/devices/$1/virtio*/net/*; do
		[ -e "$n" ] && basename "$n" && return 0
	done
	return 1
}
bind() { # bind PCI-ADDRESS DRIVER ("" for the default)
	local d=/sys/bus/pci/devices/$1

	echo "${2:-}" > "$d/driver_override"
	[ -e "$d/driver" ] && echo "$1" > "$d/driver/unbind"
	echo "$1" > /sys/bus/pci/drivers_probe
}
peer=
cleanup() {
	devlink health set "$handle" "${rep[@]}" auto_recover true 2> /dev/null
	# The peer goes back explicitly (under another name if its own was taken meanwhile): a
	# namespace outlives its deletion while a socket holds it.
	if [ -n "$peer" ]; then
		ip -n "$NS" link set "$peer" netns 1 2> /dev/null ||
			ip -n "$NS" link set "$peer" netns 1 name "rvks$$" 2> /dev/null
	fi
	ip netns del "$NS" 2> /dev/null
	bind "$DEV" ""
	[ -n "$old_driver" ] && [ "$old_driver" != rvirtio-pci ] && [ ! -e "$sysfs/driver" ] &&
		echo "$DEV" > "/sys/bus/pci/drivers/$old_driver/bind" 2> /dev/null
}
trap cleanup EXIT

health() { # health FIELD: of the reporter, as "devlink health show" prints it
	devlink health show "$handle" "${rep[@]}" |
		sed -nE "s/.* $1 ([^ ]+).*/\1/p" | head -n 1
}
health_is() { [ "$(health "$1")" = "$2" ]; }
pings() { ping -c 1 -W 1 10.123.0.2 > /dev/null 2>&1; }

echo "1..3"

# 1. The device on rvirtio-pci, with an interface that reaches the peer.
bind "$DEV" rvirtio-pci
if [ "$(basename "$(readlink "$sysfs/driver")")" = rvirtio-pci ] &&
	wait_for 5 netdev_of "$DEV" > /dev/null && dev=$(netdev_of "$DEV") &&
	peer=$(netdev_of "$PEER") &&
	ip netns add "$NS" && ip link set "$peer" netns "$NS" &&
	ip -n "$NS" addr add 10.123.0.2/24 dev "$peer" && ip -n "$NS" link set "$peer" up &&
	ip addr add 10.123.0.1/24 dev "$dev" && ip link set "$dev" up &&
	wait_for 10 pings &&
	health_is state healthy && health_is error 0; then
	ok "bind: $DEV on rvirtio-pci as $dev, the reporter healthy"
else
	diag "$(devlink health show "$handle" "${rep[@]}" 2>&1)"
	not_ok "bind: $DEV on rvirtio-pci"
	exit $KSFT_FAIL
fi

# 2. A fault recovered automatically.
if ! out=$(devlink health test "$handle" "${rep[@]}" 2>&1); then
	diag "devlink health test: $out"
	echo "ok 2 # SKIP no fault injection (CONFIG_FAULT_INJECTION)"
	echo "ok 3 # SKIP no fault injection (CONFIG_FAULT_INJECTION)"
	exit $KSFT_SKIP
fi
if wait_for 5 health_is recover 1 && health_is error 1 && wait_for 5 health_is state healthy &&
	[ "$(netdev_of "$DEV")" = "$dev" ] && wait_for 10 pings; then
	ok "recovery: the fault counted and recovered, $dev passes traffic again"
else
	diag "$(devlink health show "$handle" "${rep[@]}" 2>&1)"
	not_ok "recovery"
fi

# 3. A fault held while auto_recover is off, until "devlink health recover".
devlink health set "$handle" "${rep[@]}" auto_recover false
devlink health test "$handle" "${rep[@]}"
if wait_for 5 health_is error 2 && health_is recover 1 && ! wait_for 2 pings &&
	devlink health recover "$handle" "${rep[@]}" &&
	health_is recover 2 && wait_for 10 pings; then
	ok "held: the fault counted, no traffic until devlink health recover"
else
	diag "$(devlink health show "$handle" "${rep[@]}" 2>&1)"
	not_ok "held"
fi

echo "# Totals: pass:$((ntest - nfail)) fail:$nfail xfail:0 xpass:0 skip:0 error:0"
[ $nfail = 0 ] && exit $KSFT_PASS
exit $KSFT_FAIL
