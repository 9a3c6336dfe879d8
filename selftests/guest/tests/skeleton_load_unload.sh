#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rvirtio_pci.ko loads, registers the "rvirtio-pci" PCI driver, and unloads cleanly.
. "$(dirname "$0")/../lib.sh"

must rvirtio_load rvirtio_pci
[ -d /sys/module/rvirtio_pci ] || fail "module not listed in /sys/module"
[ -d /sys/bus/pci/drivers/rvirtio-pci ] || fail "no PCI driver rvirtio-pci"
# Already-bound devices stay with the C transport.
[ "$(pci_driver "$NIC0")" = virtio-pci ] || fail "loading took $NIC0 from virtio-pci"
must rmmod rvirtio_pci
[ ! -e /sys/bus/pci/drivers/rvirtio-pci ] || fail "driver still registered after rmmod"
[ ! -e /sys/module/rvirtio_pci ] || fail "module still present after rmmod"
echo "loaded and unloaded"
