// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for static inline functions and macros that bindgen cannot turn into bindings.
 *
 * Every helper is named rvirtio_helper_<name>; the generated Rust binding drops the prefix.
 * This file is compiled into each module that uses it (see rvirtio_*_helpers.c).
 */

#include <linux/interrupt.h>
#include <linux/pci.h>

struct pci_dev *rvirtio_helper_to_pci_dev(struct device *dev)
{
	return to_pci_dev(dev);
}

unsigned long rvirtio_helper_pci_resource_flags(struct pci_dev *pdev, int bar)
{
	return pci_resource_flags(pdev, bar);
}

#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

u64 rvirtio_helper_vdev_features(const struct virtio_device *vdev, unsigned int word)
{
	return word < VIRTIO_FEATURES_U64S ? vdev->features_array[word] : 0;
}

void rvirtio_helper_virtio_clear_bit(struct virtio_device *vdev, unsigned int fbit)
{
	__virtio_clear_bit(vdev, fbit);
}

/*
 * Whether feature @fbit is negotiated (offered by the device and the driver). Unlike
 * virtio_has_feature(), neither a bit outside the feature space nor one missing from the
 * driver's table is a bug here: both are simply not negotiated.
 */
bool rvirtio_helper_virtio_test_bit(const struct virtio_device *vdev, unsigned int fbit)
{
	return fbit < VIRTIO_FEATURES_BITS && __virtio_test_bit(vdev, fbit);
}

/*
 * Runs vring_interrupt() on every virtqueue of @vdev, for INTx and a shared vector. The list
 * only changes in find_vqs/del_vqs, while the interrupt is not requested.
 */
irqreturn_t rvirtio_helper_vring_interrupt_all(struct virtio_device *vdev)
{
	struct virtqueue *vq;
	irqreturn_t ret = IRQ_NONE;

	list_for_each_entry(vq, &vdev->vqs, list)
		if (vring_interrupt(0, vq) == IRQ_HANDLED)
			ret = IRQ_HANDLED;
	return ret;
}

/* Deletes every virtqueue of @vdev. */
void rvirtio_helper_del_all_vqs(struct virtio_device *vdev)
{
	struct virtqueue *vq, *n;

	list_for_each_entry_safe(vq, n, &vdev->vqs, list)
		vring_del_virtqueue(vq);
}

const char *rvirtio_helper_pci_name(const struct pci_dev *pdev)
{
	return pci_name(pdev);
}

int rvirtio_helper_irq_set_affinity_and_hint(unsigned int irq, const struct cpumask *m)
{
	return irq_set_affinity_and_hint(irq, m);
}

#include <linux/device.h>
#include <linux/workqueue.h>

void rvirtio_helper_device_lock(struct device *dev)
{
	device_lock(dev);
}

void rvirtio_helper_device_unlock(struct device *dev)
{
	device_unlock(dev);
}

/*
 * What the driver bound to @vdev supports, for choosing how to recover it: bit 0 a driver is
 * bound, bit 1 it has reset_prepare and reset_done, bit 2 it has freeze and restore. The
 * caller holds the device lock.
 */
unsigned int rvirtio_helper_virtio_driver_caps(struct virtio_device *vdev)
{
	struct virtio_driver *drv;
	unsigned int caps = 1;

	if (!vdev->dev.driver)
		return 0;
	drv = drv_to_virtio(vdev->dev.driver);
	if (drv->reset_prepare && drv->reset_done)
		caps |= 2;
	if (drv->freeze && drv->restore)
		caps |= 4;
	return caps;
}

/* The name of the driver bound to @vdev, or NULL. The caller holds the device lock. */
const char *rvirtio_helper_virtio_driver_name(struct virtio_device *vdev)
{
	return vdev->dev.driver ? vdev->dev.driver->name : NULL;
}

void rvirtio_helper_init_delayed_work(struct delayed_work *dwork, work_func_t func)
{
	INIT_DELAYED_WORK(dwork, func);
}

struct delayed_work *rvirtio_helper_to_delayed_work(struct work_struct *work)
{
	return to_delayed_work(work);
}

/* Queues @dwork on the freezable system workqueue: it does not run while the system sleeps. */
bool rvirtio_helper_queue_freezable_delayed_work(struct delayed_work *dwork, unsigned int msecs)
{
	return queue_delayed_work(system_freezable_wq, dwork, msecs_to_jiffies(msecs));
}

/*
 * The descriptors the device holds on each queue of @vdev: the ring's size less its free
 * descriptors (one per request with indirect descriptors), stored by queue index in
 * @held[0..@n). Sets *@queues to the number of queues, and returns the sum over all of them,
 * those past @n included. A snapshot: the driver may be adding or taking buffers meanwhile.
 */
unsigned int rvirtio_helper_vqs_in_flight(struct virtio_device *vdev, u16 *held, unsigned int n,
					  unsigned int *queues)
{
	struct virtqueue *vq;
	unsigned int total = 0;

	*queues = 0;
	spin_lock(&vdev->vqs_list_lock);
	list_for_each_entry(vq, &vdev->vqs, list) {
		unsigned int size = virtqueue_get_vring_size(vq);
		unsigned int free = READ_ONCE(vq->num_free);
		unsigned int used = free < size ? size - free : 0;

		if (vq->index < n)
			held[vq->index] = used;
		total += used;
		*queues = max(*queues, vq->index + 1);
	}
	spin_unlock(&vdev->vqs_list_lock);
	return total;
}

/*
 * Fault injection: makes the device see a malformed request on queue @index of @vdev. The
 * next available entry names a descriptor head beyond the ring, the available index moves
 * past it, and the device is notified. A device that checks what it pops (QEMU does, in
 * virtqueue_get_head()) reports a protocol error: DEVICE_NEEDS_RESET. If the driver publishes
 * its own next buffer before the device looked, the entry is overwritten and nothing happens.
 * Split rings only. The caller keeps the queues from being deleted; the list is walked under
 * its lock, as the core adds to it.
 */
int rvirtio_helper_vring_inject_bad_head(struct virtio_device *vdev, unsigned int index)
{
	struct virtqueue *vq;
	int ret = -ENOENT;

	if (virtio_has_feature(vdev, VIRTIO_F_RING_PACKED))
		return -EOPNOTSUPP;

	spin_lock(&vdev->vqs_list_lock);
	list_for_each_entry(vq, &vdev->vqs, list) {
		const struct vring *vr;
		u16 idx;

		if (vq->index != index)
			continue;
		vr = virtqueue_get_vring(vq);
		idx = virtio16_to_cpu(vdev, READ_ONCE(vr->avail->idx));
		WRITE_ONCE(vr->avail->ring[idx & (vr->num - 1)], cpu_to_virtio16(vdev, vr->num));
		/* The entry before the index, the index before the notification. */
		virtio_wmb(false);
		WRITE_ONCE(vr->avail->idx, cpu_to_virtio16(vdev, idx + 1));
		virtio_mb(false);
		virtqueue_notify(vq);
		ret = 0;
		break;
	}
	spin_unlock(&vdev->vqs_list_lock);
	return ret;
}
