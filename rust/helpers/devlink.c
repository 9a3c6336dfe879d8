// SPDX-License-Identifier: GPL-2.0
/* devlink, for rust/virtio/health.rs. */
#include <net/devlink.h>

/* devlink_alloc() is static inline, and its namespace (init_net) a variable. */
struct devlink *rvirtio_helper_devlink_alloc(const struct devlink_ops *ops, size_t priv_size,
					     struct device *dev)
{
	return devlink_alloc(ops, priv_size, dev);
}
