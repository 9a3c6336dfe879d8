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

bool rvirtio_helper_virtio_has_feature(const struct virtio_device *vdev, unsigned int fbit)
{
	return virtio_has_feature(vdev, fbit);
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
