#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rvirtio_net's per-queue statistics over the netdev generic netlink family (qstats-get), on a
# NIC with two queue pairs: after iperf3 traffic on both pairs (two streams, one per CPU with
# XPS), every active queue has an entry, both receive and both transmit queues carried
# packets, and the device totals (base + active queues) equal the interface counters
# (ndo_get_stats64). Again with one pair in use (the base then holds the other pair's
# counters), with two again, and with the link down.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	kill ${clients:-} 2>/dev/null
	rvnet_cleanup
}
trap cleanup EXIT
dev=$(rvnet_setup) || fail "setup failed: $dev"
assert_rvirtio_net "$dev"
max=$(ethtool -l "$dev" | awk '/^Combined:/ { print $2; exit }')
[ "${max:-0}" -ge 2 ] || fail "ethtool -l: $max combined channels (want 2 or more: run-vm -Q)"
must ethtool -L "$dev" combined 2

qstats() { python3 "$RVIRTIO_TOP/selftests/guest/qstats.py" "$dev"; }
qstats > /dev/null || fail "qstats-get failed for $dev"

# Checks a snapshot of qstats.py (stdin) with $1 queues in use ("down": link down). The
# interface counters are read before and after the two dumps: the device totals must lie
# between them, and equal them when nothing moved in between. Prints the numbers; exits 1 on
# a mismatch, 3 if the link was not quiet (the caller takes another snapshot).
check_snapshot() {
	python3 -c '
import json, sys
want, last_try = sys.argv[1], sys.argv[2] == "1"
s = json.load(sys.stdin)
keys = ["rx-packets", "rx-bytes", "tx-packets", "tx-bytes"]
b, a, q = s["before"], s["after"], s["queues"]
def bad(msg):
    print("FAIL: " + msg)
    sys.exit(1)
if "device" not in s:
    bad("no device-wide qstats (no base statistics)")
d = s["device"]
quiet = b == a
if not quiet and want == "down":
    bad(f"interface counters moved while the link was down: {b} -> {a}")
if not quiet and not last_try:
    sys.exit(3)
n = 0 if want == "down" else int(want)
for t in ("rx", "tx"):
    ids = sorted(int(i) for i in q.get(t, {}))
    if ids != list(range(n)):
        bad(f"{t} queues reported: {ids}, want 0..{n - 1}")
    for i, c in q.get(t, {}).items():
        need = ["rx-packets", "rx-bytes", "rx-alloc-fail"] if t == "rx" else \
            ["tx-packets", "tx-bytes", "tx-stop", "tx-wake"]
        missing = [k for k in need if k not in c]
        if missing:
            bad(f"{t} queue {i} lacks {missing}: {c}")
for t in ("rx", "tx"):
    key = t + "-packets"
    counts = [f"{i}: {c[key]}" for i, c in sorted(q.get(t, {}).items())]
    print(f"{t} queues, packets: " + ", ".join(counts))
for k in keys:
    qsum = sum(c.get(k, 0) for c in q.get(k[:2], {}).values())
    base = d.get(k, -1) - qsum
    split = "(no queue reported while down)" if want == "down" else f"= base {base} + queues {qsum}"
    print(f"{k}: interface {b[k]}..{a[k]}, qstats device {d.get(k)} {split}")
    if k not in d:
        bad(f"device totals lack {k}")
    if not b[k] <= d[k] <= a[k]:
        bad(f"{k}: device total {d[k]} outside the interface counters {b[k]}..{a[k]}")
    if quiet and qsum > d[k]:
        bad(f"{k}: the active queues ({qsum}) add up to more than the device total {d[k]}")
if quiet:
    print("link quiet during the snapshot: device totals equal the interface counters exactly")
else:
    drift = a["rx-packets"] - b["rx-packets"] + a["tx-packets"] - b["tx-packets"]
    print(f"link not quiet: {drift} packets between the two interface reads")
    if drift > 10:
        bad("too much traffic between the reads to compare")
' "$1" "$2"
}

# Takes snapshots until the link is quiet for one (IPv6 ND/MLD or ARP may still go out after
# traffic), at most 20; the last one is checked within the bounds of the interface counters.
# $1: the queues in use, or "down". Prints the last snapshot's JSON to $snap.
snap=/tmp/qstats.json
check() {
	local i rc
	for ((i = 1; i <= 20; i++)); do
		qstats > "$snap" || fail "qstats-get failed"
		rc=0
		check_snapshot "$1" $((i == 20)) < "$snap" || rc=$?
		[ $rc = 3 ] || break
		sleep 0.5
	done
	[ $rc = 0 ] || fail "qstats do not add up ($1 queues): $(cat "$snap")"
}

# Two TCP streams at once, one from each CPU: with XPS mapping CPU N to transmit queue N, each
# stream's data leaves on its own queue, and the tap backend steers each stream's ACKs to the
# receive queue of the same pair.
two_streams() {
	local p pids=() out=()
	for p in 0 1; do
		ip netns exec "$PEER_NS" iperf3 -s -1 -p $((IPERF_PORT + p)) -B 10.99.0.2 > /dev/null 2>&1 &
	done
	wait_for 5 ip netns exec "$PEER_NS" sh -c "ss -ltnH | grep -q :$((IPERF_PORT + 1))" ||
		fail "iperf3 servers did not start"
	wait_for 5 iperf_listening || fail "iperf3 server did not start"
	for p in 0 1; do
		iperf3 -c 10.99.0.2 -p $((IPERF_PORT + p)) -A $p -t "$1" > "/tmp/iperf$p.out" 2>&1 &
		pids+=($!)
	done
	clients="${pids[*]}"
	for p in 0 1; do
		wait "${pids[$p]}" || fail "iperf3 stream $p failed: $(tail -3 "/tmp/iperf$p.out")"
		grep receiver "/tmp/iperf$p.out"
	done
	clients=
}

for q in 0 1; do
	echo $((1 << q)) > "/sys/class/net/$dev/queues/tx-$q/xps_cpus" || fail "cannot set XPS of tx-$q"
done
two_streams 5
check 2
# Each queue of the pair carried traffic.
python3 -c '
import json, sys
q = json.load(open(sys.argv[1]))["queues"]
for t in ("rx", "tx"):
    busy = [i for i, c in q[t].items() if c[t + "-packets"] > 100]
    if len(busy) < 2:
        sys.exit(f"FAIL: only {t} queues {busy} carried traffic (more than 100 packets): {q[t]}")
' "$snap" || fail "the two streams did not use both queue pairs"
q1=$(python3 -c 'import json, sys; q = json.load(open(sys.argv[1]))["queues"]; print(q["rx"]["1"]["rx-packets"], q["tx"]["1"]["tx-packets"])' "$snap")

# One pair: the other pair's counters are no longer reported per queue, they are in the base.
must ethtool -L "$dev" combined 1
check 1
read -r rx1 tx1 <<< "$q1"
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
rx1, tx1 = int(sys.argv[2]), int(sys.argv[3])
d, q = s["device"], s["queues"]
base_rx = d["rx-packets"] - q["rx"]["0"]["rx-packets"]
base_tx = d["tx-packets"] - q["tx"]["0"]["tx-packets"]
print(f"with one pair: base rx-packets {base_rx} (queue 1 had {rx1}), tx-packets {base_tx} (queue 1 had {tx1})")
if base_rx < rx1 or base_tx < tx1:
    sys.exit("FAIL: the base lacks the counters of the queue pair out of use")
' "$snap" "$rx1" "$tx1" || fail "base statistics"
sent=$(iperf_run 2) || fail "iperf3 with one pair failed: $sent"
check 1

must ethtool -L "$dev" combined 2
sent=$(iperf_run 2) || fail "iperf3 with two pairs again failed: $sent"
check 2

# Down: no queue is reported, and nothing can move the counters.
must ip link set "$dev" down
check down
must ip link set "$dev" up
