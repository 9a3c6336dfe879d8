# SPDX-License-Identifier: GPL-2.0

TEST_PROGS := rvirtio_pci_recovery.sh

include ../../../lib.mk
