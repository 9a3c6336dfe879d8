#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A capability that names a BAR without a resource, a harmless deviation QEMU can present: the
# boot reserves the whole PCI I/O port window (reserve=, run_tests.sh), so the I/O BAR of a NIC
# with modern-pio-notify=on is left unassigned, and the first notification capability in its
# list (QEMU lists the I/O one first) names a BAR that has no resource. The C virtio-pci skips
# that capability and uses the next one, in memory. rvirtio-pci must bind too, with one dev_warn
# naming the capability, its BAR and the spec clause, request no I/O ports, and carry traffic
# for C virtio_net, the kicks going to the memory notification structure.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	netns_cleanup
	rvirtio_release "$NIC0"
}
trap cleanup EXIT

# Prints "POS BAR" for each notification capability (vendor capability, cfg_type 2) of PCI
# device $1, in list order, read from its configuration space.
notify_caps() {
	local b pos n=0
	# shellcheck disable=SC2207 # one number a word
	b=($(od -An -v -tu1 "/sys/bus/pci/devices/$1/config"))
	pos=${b[0x34]}
	while [ "${pos:-0}" -ge 64 ] && [ $n -lt 48 ]; do
		[ "${b[pos]}" = 9 ] && [ "${b[pos + 3]}" = 2 ] && echo "$pos ${b[pos + 4]}"
		pos=${b[pos + 1]} n=$((n + 1))
	done
}

# Prints the resource flags of BAR $2 of PCI device $1 (0: no resource).
bar_flags() {
	sed -n "$(($2 + 1))p" "/sys/bus/pci/devices/$1/resource" | awk '{ print $3 }'
}

caps=$(notify_caps "$NIC0")
echo "notification capabilities of $NIC0:" $(echo "$caps" | while read -r p b; do printf '%#x (BAR %d)\n' "$p" "$b"; done)
read -r pos bar <<< "$(echo "$caps" | head -n 1)"
[ -n "$pos" ] || fail "$NIC0 has no notification capability"
flags=$(bar_flags "$NIC0" "$bar")
[ $((flags)) = 0 ] ||
	fail "BAR $bar of $NIC0 has a resource (flags $flags): boot without modern-pio-notify=on and the I/O window reserved"
[ "$(echo "$caps" | wc -l)" -ge 2 ] || fail "$NIC0 has no second notification capability"
echo "first notification capability at $(printf '%#x' "$pos") names BAR $bar, which has no resource"

# Upstream binds it: the C transport was given the NIC at boot.
[ "$(pci_driver "$NIC0")" = virtio-pci ] || fail "$NIC0 not bound to virtio-pci at boot: $(pci_driver "$NIC0")"
virtio_of "$NIC0" > /dev/null || fail "virtio-pci bound $NIC0 without a virtio device"

must kmod_load virtio_net
warning="$NIC0: notify capability at $(printf '%#x' "$pos"): bar $bar has no resource (virtio 1.2, 4.1.4): ignoring it"
before=$(dmesg | grep -cF "$warning")
rvirtio_take "$NIC0"
after=$(dmesg | grep -cF "$warning")
[ $((after - before)) = 1 ] ||
	fail "$((after - before)) warnings '$warning' at the bind, not 1: $(dmesg | grep "$NIC0" | tail -n 3)"
echo "rvirtio-pci: $(dmesg | grep -F "$warning" | tail -n 1 | sed 's/^\[[^]]*\] //')"
! grep -q rvirtio-pci /proc/ioports || fail "rvirtio-pci requested I/O ports: $(grep rvirtio-pci /proc/ioports)"

vdev=$(virtio_of "$NIC0") || fail "no virtio device on $NIC0"
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface on $vdev"
dev=$(netns_setup) || fail "namespace setup failed: $dev"
ping_ok ping -c 3 -i 0.2 -W 2 10.99.0.2
read -r rx sent <<< "$(IPERF_SENT=1 iperf_run 3)" || fail "iperf3 failed"
echo "iperf3: $rx bytes received by the peer through $dev on rvirtio-pci"
[ "$rx" -gt "${RVIRTIO_MIN_BYTES:-1000000}" ] || fail "only $rx bytes"
