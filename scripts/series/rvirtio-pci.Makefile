# SPDX-License-Identifier: GPL-2.0

obj-$(CONFIG_RVIRTIO_PCI) += rvirtio_pci.o
