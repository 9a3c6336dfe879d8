#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rvirtio_net refills its receive ring from process context when memory ran out in NAPI: with
# every atomic page allocation failing (fail_page_alloc) while the peer floods a UDP socket of
# ours that reads nothing (the packets it keeps hold their pages, so the page fragment cache
# cannot recycle them), the ring runs dry; once allocations work again, traffic comes back
# although no interrupt is left to trigger a poll. Proves each step with rvirtio_net's counters (ethtool -S): refills failed
# (rx0_drops), a poll left the ring without a buffer (rx0_empty), and the deferred refill
# posted buffers after the injection ended (rx0_deferred_refills), before traffic came back.
. "$(dirname "$0")/../lib.sh"

F=/sys/kernel/debug/fail_page_alloc
cleanup() {
	[ -d "$F" ] && echo 0 > "$F/probability"
	kill "${SINK:-}" 2>/dev/null
	rvnet_cleanup
}
trap cleanup EXIT
[ -d "$F" ] || fail "no $F (CONFIG_FAIL_PAGE_ALLOC)"
# While our ring is dry, QEMU holds the packets the peer sends us, and the peer's transmit queue
# (NIC1, the C virtio_net) stops: a stall of 5 s makes its watchdog report it. The flood below
# lasts 2 s, but a loaded host may stretch the stall.
expect_splat '^virtio_net virtio[0-9]+ \S+: NETDEV WATCHDOG: .*transmit queue [0-9]+ timed out'
dev=$(rvnet_setup) || fail "setup failed: $dev"
ping_ok ping -c 2 -i 0.2 -W 2 10.99.0.2
rxstat() { ethtool -S "$dev" | awk -v n="rx0_$1:" '$1 == n { print $2 }'; }
d0=$(rxstat drops) e0=$(rxstat empty) r0=$(rxstat deferred_refills)
[ -n "$d0" ] && [ -n "$e0" ] && [ -n "$r0" ] || fail "missing counters: $(ethtool -S "$dev" | grep rx0_)"

echo 0 > "$F/min-order"
echo Y > "$F/ignore-gfp-wait"    # only allocations that cannot sleep fail
echo 0 > "$F/verbose"
echo 1 > "$F/interval"
echo -1 > "$F/times"
echo 100 > "$F/probability"
python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE
s.bind(("10.99.0.1", 9999))
time.sleep(120)
' &
SINK=$!
sleep 1
ip netns exec "$PEER_NS" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
end = time.monotonic() + 2
while time.monotonic() < end:
    try:
        s.sendto(bytes(1400), ("10.99.0.1", 9999))
    except OSError:
        time.sleep(0.001)
'
d1=$(rxstat drops) e1=$(rxstat empty) r1=$(rxstat deferred_refills)
echo 0 > "$F/probability"
kill "$SINK"
echo "while allocations failed: $((d1 - d0)) refills failed, $((e1 - e0)) polls left the ring empty, $((r1 - r0)) deferred refills posted"
[ $((d1 - d0)) -gt 0 ] || fail "no refill failed: the injection did not reach the ring"
[ $((e1 - e0)) -gt 0 ] || fail "the ring never ran dry"

wait_for 10 ping -c 1 -W 1 10.99.0.2 || fail "no traffic after memory came back"
r2=$(rxstat deferred_refills)
echo "deferred refills after the injection ended: $((r2 - r1))"
[ $((r2 - r1)) -gt 0 ] || fail "traffic came back without a deferred refill"
ping_ok ping -c 5 -i 0.2 -W 2 10.99.0.2
ping_ok ip netns exec "$PEER_NS" ping -c 5 -i 0.2 -W 2 10.99.0.1
