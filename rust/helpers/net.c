// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers of the virtio driver and network device abstractions: static inline functions
 * and macros of the virtio bus, the netdev core, NAPI and socket buffers.
 */

#include <linux/etherdevice.h>
#include <linux/fault-inject.h>
#include <linux/netdevice.h>
#include <linux/scatterlist.h>
#include <linux/skbuff.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <net/netdev_queues.h>

/* The virtio bus, as a driver uses it. */

int rvirtio_helper_register_virtio_driver(struct virtio_driver *drv, struct module *owner)
{
	return __register_virtio_driver(drv, owner);
}

int rvirtio_helper_virtio_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
				   struct virtqueue *vqs[], struct virtqueue_info vqs_info[])
{
	return virtio_find_vqs(vdev, nvqs, vqs, vqs_info, NULL);
}

void rvirtio_helper_virtio_del_vqs(struct virtio_device *vdev)
{
	vdev->config->del_vqs(vdev);
}

void rvirtio_helper_virtio_device_ready(struct virtio_device *vdev)
{
	virtio_device_ready(vdev);
}

u8 rvirtio_helper_virtio_get_status(struct virtio_device *vdev)
{
	return vdev->config->get_status(vdev);
}

void rvirtio_helper_virtio_synchronize_cbs(struct virtio_device *vdev)
{
	virtio_synchronize_cbs(vdev);
}

/* Reads @len bytes of device configuration at @offset, consistently (generation checked). */
void rvirtio_helper_virtio_cread_bytes(struct virtio_device *vdev, unsigned int offset,
				       void *buf, size_t len)
{
	virtio_cread_bytes(vdev, offset, buf, len);
}

/*
 * The driver's private pointer of @vdev: published with release semantics once the driver's
 * data is complete, read by virtqueue callbacks with acquire semantics.
 */
void rvirtio_helper_vdev_set_priv(struct virtio_device *vdev, void *priv)
{
	/* Pairs with the acquire in rvirtio_helper_vdev_priv(). */
	smp_store_release(&vdev->priv, priv);
}

void *rvirtio_helper_vdev_priv(struct virtio_device *vdev)
{
	/* Pairs with the release in rvirtio_helper_vdev_set_priv(). */
	return smp_load_acquire(&vdev->priv);
}

void rvirtio_helper_sg_set_buf(struct scatterlist *sg, const void *buf, unsigned int len)
{
	sg_set_buf(sg, buf, len);
}

/* Network devices. */

void *rvirtio_helper_netdev_priv(const struct net_device *dev)
{
	return netdev_priv(dev);
}

/*
 * Fills the operations of a Rust network device: the callbacks are generic trampolines, the
 * rest is what every Ethernet driver uses.
 */
void rvirtio_helper_netdev_ops_init(struct net_device_ops *ops,
				    int (*open)(struct net_device *),
				    int (*stop)(struct net_device *),
				    netdev_tx_t (*start_xmit)(struct sk_buff *, struct net_device *),
				    void (*get_stats64)(struct net_device *,
							struct rtnl_link_stats64 *),
				    int (*set_mac_address)(struct net_device *, void *),
				    int (*change_mtu)(struct net_device *, int),
				    void (*set_rx_mode)(struct net_device *),
				    int (*vlan_rx_add_vid)(struct net_device *, __be16, u16),
				    int (*vlan_rx_kill_vid)(struct net_device *, __be16, u16),
				    int (*set_features)(struct net_device *, netdev_features_t),
				    void (*tx_timeout)(struct net_device *, unsigned int))
{
	ops->ndo_open = open;
	ops->ndo_stop = stop;
	ops->ndo_start_xmit = start_xmit;
	ops->ndo_get_stats64 = get_stats64;
	ops->ndo_set_mac_address = set_mac_address;
	ops->ndo_change_mtu = change_mtu;
	ops->ndo_set_rx_mode = set_rx_mode;
	ops->ndo_vlan_rx_add_vid = vlan_rx_add_vid;
	ops->ndo_vlan_rx_kill_vid = vlan_rx_kill_vid;
	ops->ndo_set_features = set_features;
	ops->ndo_tx_timeout = tx_timeout;
	ops->ndo_validate_addr = eth_validate_addr;
	ops->ndo_features_check = passthru_features_check;
}

void rvirtio_helper_netdev_setup(struct net_device *dev, struct device *parent,
				 const struct net_device_ops *ops,
				 const struct ethtool_ops *ethtool_ops)
{
	SET_NETDEV_DEV(dev, parent);
	dev->netdev_ops = ops;
	if (ethtool_ops)
		dev->ethtool_ops = ethtool_ops;
}

const char *rvirtio_helper_netdev_name(const struct net_device *dev)
{
	return netdev_name(dev);
}

unsigned int rvirtio_helper_netdev_mtu(const struct net_device *dev)
{
	return READ_ONCE(dev->mtu);
}

void rvirtio_helper_netdev_set_mtu(struct net_device *dev, unsigned int mtu)
{
	WRITE_ONCE(dev->mtu, mtu);
}

void rvirtio_helper_netdev_set_mtu_range(struct net_device *dev, unsigned int min,
					 unsigned int max)
{
	dev->min_mtu = min;
	dev->max_mtu = max;
}

void rvirtio_helper_netdev_set_needed_headroom(struct net_device *dev, unsigned short len)
{
	dev->needed_headroom = len;
}

void rvirtio_helper_netdev_addr(const struct net_device *dev, u8 *addr)
{
	ether_addr_copy(addr, dev->dev_addr);
}

void rvirtio_helper_eth_hw_addr_set(struct net_device *dev, const u8 *addr)
{
	eth_hw_addr_set(dev, addr);
}

void rvirtio_helper_eth_hw_addr_random(struct net_device *dev)
{
	eth_hw_addr_random(dev);
}

void rvirtio_helper_netdev_set_features(struct net_device *dev, u64 hw, u64 features)
{
	dev->hw_features = hw;
	dev->features = features;
}

u64 rvirtio_helper_netdev_features(const struct net_device *dev)
{
	return READ_ONCE(dev->features);
}

bool rvirtio_helper_netif_running(const struct net_device *dev)
{
	return netif_running(dev);
}

void rvirtio_helper_netif_tx_stop_queue(struct netdev_queue *txq)
{
	netif_tx_stop_queue(txq);
}

bool rvirtio_helper_netif_tx_queue_stopped(const struct netdev_queue *txq)
{
	return netif_tx_queue_stopped(txq);
}

/* Transmit queues under their xmit lock, and byte queue limits. */

struct netdev_queue *rvirtio_helper_netdev_txq(struct net_device *dev, unsigned int index)
{
	return index < dev->num_tx_queues ? netdev_get_tx_queue(dev, index) : NULL;
}

void rvirtio_helper_netdev_txq_lock_bh(struct netdev_queue *txq)
{
	__netif_tx_lock_bh(txq);
}

bool rvirtio_helper_netdev_txq_trylock_bh(struct netdev_queue *txq)
{
	local_bh_disable();
	if (__netif_tx_trylock(txq))
		return true;
	local_bh_enable();
	return false;
}

void rvirtio_helper_netdev_txq_unlock_bh(struct netdev_queue *txq)
{
	__netif_tx_unlock_bh(txq);
}

bool rvirtio_helper_netdev_txq_sent(struct netdev_queue *txq, unsigned int bytes, bool more)
{
	return __netdev_tx_sent_queue(txq, bytes, more);
}

void rvirtio_helper_netdev_txq_completed(struct netdev_queue *txq, unsigned int packets,
					 unsigned int bytes)
{
	netdev_tx_completed_queue(txq, packets, bytes);
}

void rvirtio_helper_netdev_txq_reset(struct netdev_queue *txq)
{
	netdev_tx_reset_queue(txq);
}

/* NAPI. */

void rvirtio_helper_netif_napi_add(struct net_device *dev, struct napi_struct *napi,
				   int (*poll)(struct napi_struct *, int))
{
	netif_napi_add(dev, napi, poll);
}

void rvirtio_helper_netif_napi_add_tx(struct net_device *dev, struct napi_struct *napi,
				      int (*poll)(struct napi_struct *, int))
{
	netif_napi_add_tx(dev, napi, poll);
}

void rvirtio_helper_netif_napi_del(struct napi_struct *napi)
{
	netif_napi_del(napi);
}

bool rvirtio_helper_napi_schedule(struct napi_struct *napi)
{
	return napi_schedule(napi);
}

struct net_device *rvirtio_helper_napi_dev(const struct napi_struct *napi)
{
	return napi->dev;
}

/* Socket buffers. */

struct sk_buff *rvirtio_helper_netdev_alloc_skb_ip_align(struct net_device *dev,
							 unsigned int len, gfp_t gfp)
{
	return __netdev_alloc_skb_ip_align(dev, len, gfp);
}

void rvirtio_helper_dev_kfree_skb_any(struct sk_buff *skb)
{
	dev_kfree_skb_any(skb);
}

unsigned int rvirtio_helper_skb_tailroom(const struct sk_buff *skb)
{
	return skb_tailroom(skb);
}

void rvirtio_helper_skb_record_rx_queue(struct sk_buff *skb, u16 queue)
{
	skb_record_rx_queue(skb, queue);
}

void rvirtio_helper_skb_tx_timestamp(struct sk_buff *skb)
{
	skb_tx_timestamp(skb);
}

bool rvirtio_helper_netdev_xmit_more(void)
{
	return netdev_xmit_more();
}

/* Sets the protocol of a received frame from its Ethernet header, which it pulls. */
void rvirtio_helper_skb_eth_type_trans(struct sk_buff *skb, struct net_device *dev)
{
	skb->protocol = eth_type_trans(skb, dev);
}

struct device *rvirtio_helper_netdev_to_dev(struct net_device *dev)
{
	return &dev->dev;
}

void rvirtio_helper_napi_gro_receive(struct napi_struct *napi, struct sk_buff *skb)
{
	napi_gro_receive(napi, skb);
}

/* Transmit offloads: what the stack asks of an skb, for the virtio-net header. */

bool rvirtio_helper_skb_header_cloned(const struct sk_buff *skb)
{
	return skb_header_cloned(skb);
}

/*
 * Fills @hdr, the 12 bytes of a struct virtio_net_hdr_mrg_rxbuf (at any alignment), for
 * transmitting @skb: the kernel's virtio_net_hdr_from_skb(), little endian, num_buffers 0.
 * Returns -EINVAL for a GSO type virtio-net cannot express.
 */
int rvirtio_helper_virtio_net_hdr_from_skb(const struct sk_buff *skb, u8 *hdr)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	int ret;

	static_assert(sizeof(h) == 12);
	ret = virtio_net_hdr_from_skb(skb, &h.hdr, true, false, 0);
	h.num_buffers = 0;
	memcpy(hdr, &h, sizeof(h));
	return ret;
}

/* Receive. */

/*
 * Applies the virtio-net header in the bytes @hdr (as the device wrote it, little endian, at
 * any alignment) to @skb: checksum state and GSO, with the validation of the kernel's own
 * virtio_net_hdr_to_skb(). The header is copied into a structure of its own first, which has
 * the alignment its fields need.
 */
int rvirtio_helper_virtio_net_hdr_to_skb(struct sk_buff *skb, const u8 *hdr)
{
	struct virtio_net_hdr h;

	memcpy(&h, hdr, sizeof(h));
	if (h.flags & VIRTIO_NET_HDR_F_DATA_VALID)
		skb->ip_summed = CHECKSUM_UNNECESSARY;
	return virtio_net_hdr_to_skb(skb, &h, true);
}

void *rvirtio_helper_netdev_alloc_frag(unsigned int size)
{
	return netdev_alloc_frag(size);
}

void rvirtio_helper_skb_free_frag(void *addr)
{
	skb_free_frag(addr);
}

void rvirtio_helper_skb_put_data(struct sk_buff *skb, const void *data, unsigned int len)
{
	skb_put_data(skb, data, len);
}

/*
 * Attaches @len bytes at @va, inside a page fragment from netdev_alloc_frag(), to @skb as its
 * next fragment; the skb takes over the fragment's page reference. -EMSGSIZE when the skb has
 * no fragment slot left (the fragment is then still the caller's).
 */
int rvirtio_helper_skb_add_rx_frag_va(struct sk_buff *skb, void *va, unsigned int len,
				      unsigned int truesize)
{
	struct page *page = virt_to_head_page(va);
	int nr = skb_shinfo(skb)->nr_frags;

	if (nr >= MAX_SKB_FRAGS)
		return -EMSGSIZE;
	skb_add_rx_frag(skb, nr, page, (u8 *)va - (u8 *)page_address(page), len, truesize);
	return 0;
}

unsigned int rvirtio_helper_num_online_cpus(void)
{
	return num_online_cpus();
}

#include <linux/workqueue.h>

void rvirtio_helper_init_work(struct work_struct *work, work_func_t func)
{
	INIT_WORK(work, func);
}

bool rvirtio_helper_schedule_work(struct work_struct *work)
{
	return schedule_work(work);
}

/*
 * Copies up to @max unicast and @max multicast addresses of @dev (ETH_ALEN bytes each) into
 * @uc and @mc, with their full counts in @uc_n and @mc_n (more than @max: the lists
 * overflowed), under the address lock; returns the device's flags (IFF_PROMISC, ...).
 */
unsigned int rvirtio_helper_netdev_addr_lists(struct net_device *dev, u8 *uc, u8 *mc,
					      unsigned int max, unsigned int *uc_n,
					      unsigned int *mc_n)
{
	struct netdev_hw_addr *ha;
	unsigned int i, flags;

	netif_addr_lock_bh(dev);
	flags = dev->flags;
	*uc_n = netdev_uc_count(dev);
	*mc_n = netdev_mc_count(dev);
	i = 0;
	netdev_for_each_uc_addr(ha, dev) {
		if (i == max)
			break;
		ether_addr_copy(uc + ETH_ALEN * i++, ha->addr);
	}
	i = 0;
	netdev_for_each_mc_addr(ha, dev) {
		if (i == max)
			break;
		ether_addr_copy(mc + ETH_ALEN * i++, ha->addr);
	}
	netif_addr_unlock_bh(dev);
	return flags;
}

/* The device filters unicast addresses itself and can change its address while up. */
void rvirtio_helper_netdev_set_unicast_filter(struct net_device *dev)
{
	dev->priv_flags |= IFF_UNICAST_FLT | IFF_LIVE_ADDR_CHANGE;
}

bool rvirtio_helper_schedule_delayed_work_ms(struct delayed_work *dwork, unsigned int msecs)
{
	return schedule_delayed_work(dwork, msecs_to_jiffies(msecs));
}

void rvirtio_helper_local_bh_disable(void)
{
	local_bh_disable();
}

void rvirtio_helper_local_bh_enable(void)
{
	local_bh_enable();
}

/* Per-queue statistics (netdev_stat_ops): set before registration. */
void rvirtio_helper_netdev_set_stat_ops(struct net_device *dev, const struct netdev_stat_ops *ops)
{
	dev->stat_ops = ops;
}

unsigned int rvirtio_helper_netdev_real_num_rx_queues(const struct net_device *dev)
{
	return READ_ONCE(dev->real_num_rx_queues);
}

unsigned int rvirtio_helper_netdev_real_num_tx_queues(const struct net_device *dev)
{
	return READ_ONCE(dev->real_num_tx_queues);
}

#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
/*
 * FAULT_ATTR_INITIALIZER is a macro. The point fails nothing until its "times" is set: then
 * that many checks fail (probability 100), without a stack dump for each (verbose 0).
 */
void rvirtio_helper_fault_attr_init_idle(struct fault_attr *attr)
{
	*attr = (struct fault_attr)FAULT_ATTR_INITIALIZER;
	attr->probability = 100;
	atomic_set(&attr->times, 0);
	attr->verbose = 0;
}
#endif
