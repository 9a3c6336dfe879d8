#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A debugfs file of each driver held open while the driver is unbound and its module unloaded,
# then closed: the kernel must not call into the unloaded module. rvirtio_net's files are the
# fault injection framework's (no code of the module in their file operations): rvirtio_net
# unloads with one open. rvirtio-pci's own files take a reference on their module while open
# (their file_operations' owner): rmmod refuses until the file is closed. Then both are gone,
# with no oops (the 7.2 kernel::debugfs sets no owner: a file of it closed after the module's
# unload faulted in full_proxy_release()).
. "$(dirname "$0")/../lib.sh"

cleanup() {
	exec 3<&- 4>&- 2>/dev/null
	rvnet_cleanup
}
trap cleanup EXIT
export RVNET_TRANSPORT=rust
must kmod_load virtio_net
dev=$(rvnet_setup) || fail "setup failed: $dev"
assert_rvirtio_net "$dev"
knob=$(rvnet_knob "$NIC0")
dfs=$(rvirtio_debugfs "$NIC0")/recovery
exec 3< "$dfs" || fail "cannot open $dfs"
exec 4> "$knob" || fail "cannot open $knob"
netns_cleanup
rvirtio_net_release "$NIC0"
[ -d /sys/module/rvirtio_net ] && fail "rvirtio_net was not unloaded"
echo "rvirtio_net unloaded with $knob open"
pci_rebind "$NIC0" ""
rmmod rvirtio_pci 2>/dev/null && fail "rvirtio_pci unloaded with $dfs open"
echo "rvirtio_pci kept while $dfs is open"
exec 3<&- 4>&-
must rmmod rvirtio_pci
sleep 1
dmesg | grep -E "BUG:|Oops" && fail "the kernel faulted on closing the files"
wait_for 10 netdev_by_mac "$NIC0_MAC" || fail "no interface back on virtio-pci"
echo "both files closed after the unloads, no fault"
