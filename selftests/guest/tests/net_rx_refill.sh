#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rvirtio_net refills its receive ring from process context when memory ran out in NAPI: with
# every atomic page allocation failing (fail_page_alloc) while the peer floods us, the ring
# runs dry (refills fail, counted as drops); once allocations work again, traffic comes back
# without any interrupt left to trigger a poll.
. "$(dirname "$0")/../lib.sh"

F=/sys/kernel/debug/fail_page_alloc
cleanup() {
	[ -d "$F" ] && echo 0 > "$F/probability"
	rvnet_cleanup
}
trap cleanup EXIT
[ -d "$F" ] || fail "no $F (CONFIG_FAIL_PAGE_ALLOC)"
dev=$(rvnet_setup) || fail "setup failed: $dev"
ping_ok ping -c 2 -i 0.2 -W 2 10.99.0.2
drops() { ethtool -S "$dev" | awk '$1 == "rx0_drops:" { print $2 }'; }
d0=$(drops)

echo 0 > "$F/min-order"
echo Y > "$F/ignore-gfp-wait"    # only allocations that cannot sleep fail
echo 0 > "$F/verbose"
echo 1 > "$F/interval"
echo -1 > "$F/times"
echo 100 > "$F/probability"
ip netns exec "$PEER_NS" ping -f -c 3000 -s 1400 -W 0.1 10.99.0.1 > /dev/null 2>&1
echo 0 > "$F/probability"
d1=$(drops)
echo "refills that failed while allocations failed: $((d1 - d0))"
[ $((d1 - d0)) -gt 0 ] || fail "no refill failed: the injection did not reach the ring"

wait_for 10 ping -c 1 -W 1 10.99.0.2 || fail "no traffic after memory came back"
ping_ok ping -c 5 -i 0.2 -W 2 10.99.0.2
ping_ok ip netns exec "$PEER_NS" ping -c 5 -i 0.2 -W 2 10.99.0.1
