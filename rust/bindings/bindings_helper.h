/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Header list for bindgen: what our abstractions need beyond the kernel crate's bindings.
 */

#include <linux/ioport.h>
#include <linux/pci.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_pci.h>
#include <uapi/linux/virtio_config.h>
#include <uapi/linux/virtio_ids.h>
#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <linux/scatterlist.h>
#include <linux/skbuff.h>
#include <linux/rtnetlink.h>
#include <net/netdev_queues.h>
#include <net/devlink.h>
#include <linux/fault-inject.h>
