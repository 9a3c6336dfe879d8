#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The kselftest of the upstream series (selftests/kselftest/rvirtio_pci_recovery.sh, which
# patch 8 adds as tools/testing/selftests/drivers/virtio/rvirtio/), run as the kselftest
# runner runs it, on NIC0 with NIC1 as its peer: it must pass its 3 tests, none skipped.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	rvirtio_release "$NIC0"
}
trap cleanup EXIT
# A fault held (auto_recover off) stops the NIC's transmit queue until the recovery by hand:
# the stack's transmit watchdog may report it (5 s) on a loaded host.
expect_splat 'NETDEV WATCHDOG: .*transmit queue [0-9]+ timed out'

must kmod_load virtio_net
must rvirtio_load rvirtio_pci
errors=$(device_errors)
out=$(RVIRTIO_PCI_DEV=$NIC0 RVIRTIO_PCI_PEER=$NIC1 \
	timeout 120 bash "$RVIRTIO_TOP/selftests/kselftest/rvirtio_pci_recovery.sh" 2>&1)
rc=$?
echo "$out"
[ $rc = 0 ] || fail "the kselftest exited with $rc"
passed=$(grep -cE '^ok [0-9]+ [^#]*$' <<< "$out")
[ "$passed" = 3 ] || fail "$passed of 3 kselftest tests passed"
# The faults came from the device: QEMU reported a ring error for each of the two.
now=$(device_errors)
[ "$now" -ge $((errors + 2)) ] || fail "QEMU reported $((now - errors)) device errors for 2 faults"
echo "the kselftest passed, with the device raising the faults"
