# SPDX-License-Identifier: GPL-2.0

obj-$(CONFIG_RVIRTIO_NET) += rvirtio_net.o
