// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for static inline functions and macros that bindgen cannot turn into bindings.
 *
 * Every helper is named rvirtio_helper_<name>; the generated Rust binding drops the prefix.
 * This file is compiled into each module that uses it (see rvirtio_*_helpers.c).
 */

#include <linux/pci.h>

struct pci_dev *rvirtio_helper_to_pci_dev(struct device *dev)
{
	return to_pci_dev(dev);
}

unsigned long rvirtio_helper_pci_resource_flags(struct pci_dev *pdev, int bar)
{
	return pci_resource_flags(pdev, bar);
}
