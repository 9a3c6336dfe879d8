# SPDX-License-Identifier: GPL-2.0
#
# Helpers for guest tests. A test is a bash script that exits 0 (pass), 1 (fail) or 4 (skip,
# as kselftest's KSFT_SKIP); anything it prints becomes a KTAP diagnostic line.

set -u

# Fixed PCI addresses of the devices run-vm creates.
NIC0=0000:00:08.0 # the NIC under test
NIC1=0000:00:09.0 # its peer, moved into a network namespace
BLK0=0000:00:0a.0
RNG0=0000:00:0b.0
CON0=0000:00:07.0 # virtio-serial, port org.rvirtio.test on QMP ring buffer rb0
# With run-vm -F: devices alone behind a PCI-PCI bridge, which the PCI core can reset.
BLK1=0000:01:01.0
RNG1=0000:02:01.0
NIC0_MAC=52:54:00:12:34:01
NIC1_MAC=52:54:00:12:34:02
PEER_NS=rvpeer

fail() {
	echo "FAIL: $*"
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 4
}

# Tells the splat detector that this test provokes kernel messages matching regex $1 on
# purpose (e.g. a transmit watchdog): they are excused until the test ends, nothing else is.
# The final dmesg is judged too: a test that expects one must not clear the log (dmesg -C).
expect_splat() {
	echo "rvirtio: expect splat: $1" > /dev/kmsg
}

# Runs a command, failing the test with its output if it fails.
must() {
	local out
	if ! out=$("$@" 2>&1); then
		echo "$out"
		fail "'$*' failed"
	fi
	[ -z "$out" ] || echo "$out"
}

# Waits up to $1 seconds (fractions allowed) for the command that follows to succeed.
wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" > /dev/null 2>&1 && return 0
		sleep 0.1
	done
	"$@" > /dev/null 2>&1
}

# Loads a module of the guest kernel's build (modprobe resolves its dependencies).
kmod_load() {
	modprobe -d "$KDIR/modroot" "$@"
}

# Loads one of our modules, by its path without ".ko" in the build output ($RVIRTIO_MODDIR,
# default: out/build of the checkout).
rvirtio_load() {
	local m=$1
	shift
	insmod "${RVIRTIO_MODDIR:-$RVIRTIO_TOP/out/build}/$m.ko" "$@"
}

# Loads rvirtio_pci (unless a test loaded it with parameters) and moves PCI device $1 to it
# with driver_override. The NAME=VALUE arguments that follow set devlink parameters of the
# device (devlink dev param, runtime), e.g. recovery_window_ms=200.
rvirtio_take() {
	local bdf=$1 p
	shift
	[ -d /sys/module/rvirtio_pci ] || must rvirtio_load rvirtio_pci
	pci_rebind "$bdf" rvirtio-pci
	[ "$(pci_driver "$bdf")" = rvirtio-pci ] || fail "$bdf not bound to rvirtio-pci"
	for p in "$@"; do
		devlink dev param set "pci/$bdf" name "${p%%=*}" value "${p#*=}" cmode runtime ||
			fail "cannot set devlink parameter $p of $bdf"
	done
}

# Turns the automatic recovery of rvirtio-pci device $1 off (its devlink health reporter's
# auto_recover): a fault is counted and reported, and the device stays down until
# rvirtio_recover.
rvirtio_hold() {
	devlink health set "pci/$1" reporter needs_reset auto_recover false
}

# Asks for the recovery of rvirtio-pci device $1, as a user does: devlink health recover.
rvirtio_recover() {
	devlink health recover "pci/$1" reporter needs_reset
}

# Gives PCI device $1 back to the C virtio-pci and unloads rvirtio_pci (for cleanup traps).
rvirtio_release() {
	pci_rebind "$1" ""
	rmmod rvirtio_pci 2>/dev/null
}

# Prints the name of the driver bound to PCI device $1, or "none".
pci_driver() {
	local l
	l=$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null) || { echo none; return; }
	basename "$l"
}

# Rebinds PCI device $1 to driver $2 ("" for no override) with driver_override, as a user does.
pci_rebind() {
	local bdf=$1 drv=$2
	if [ -e "/sys/bus/pci/devices/$bdf/driver" ]; then
		echo "$bdf" > "/sys/bus/pci/devices/$bdf/driver/unbind"
	fi
	echo "$drv" > "/sys/bus/pci/devices/$bdf/driver_override"
	echo "$bdf" > /sys/bus/pci/drivers_probe 2>/dev/null || true
}

# Prints the network interface whose MAC is $1 (in the current namespace).
netdev_by_mac() {
	local d
	for d in /sys/class/net/*; do
		[ "$(cat "$d/address" 2>/dev/null)" = "$1" ] && { basename "$d"; return 0; }
	done
	return 1
}

# Sends one QMP command to QEMU from inside the guest; prints the "return" value as JSON.
qmp() {
	python3 "$RVIRTIO_TOP/selftests/guest/qmp.py" "$@"
}

# Makes QEMU serve blk0 at $1 requests and ${2:-0} bytes per second (0: unlimited). A host
# serves the test's cached disk image in microseconds, so that an injected fault would find the
# queues empty; throttled, the disk holds the requests of every process that uses it.
blk_throttle() {
	qmp block_set_io_throttle "{\"id\": \"/machine/peripheral/blk0/virtio-backend\",
		\"bps\": ${2:-0}, \"bps_rd\": 0, \"bps_wr\": 0, \"iops\": $1, \"iops_rd\": 0,
		\"iops_wr\": 0}" > /dev/null
}

# Loads virtio_blk in place of the one loaded (if any): with $1 = requeue, the one with the
# change proposed in Documentation/patches/ (a test module built from the kernel tree); with
# $1 = stock, the kernel's. Then moves blk0 to rvirtio-pci (blk_attach, with the rvirtio_pci
# parameters that follow $1). Sets BLK_DISK to its /dev node.
blk_take() {
	local mod=${RVIRTIO_MODDIR:-$RVIRTIO_TOP/out/build}/selftests/modules/virtio_blk/virtio_blk.ko
	rmmod virtio_blk 2>/dev/null
	[ -d /sys/module/virtio_blk ] && fail "a virtio_blk is in use"
	if [ "$1" = requeue ]; then
		[ -f "$mod" ] || fail "no $mod: the proposed virtio_blk change does not apply to this kernel tree"
		must insmod "$mod"
	else
		must kmod_load virtio_blk
	fi
	shift
	blk_attach "$@"
}

# Moves blk0 to rvirtio-pci, with its devlink parameters $@ (by default a short recovery
# window; see rvirtio_take). Sets BLK_DISK to its /dev node.
blk_attach() {
	local vdev
	(($#)) || set -- recovery_window_ms=200
	rvirtio_take "$BLK0" "$@"
	vdev=$(virtio_of "$BLK0") || fail "no virtio device on $BLK0"
	wait_for 5 ls "/sys/bus/virtio/devices/$vdev/block" || fail "no disk on $vdev"
	BLK_DISK=/dev/$(ls "/sys/bus/virtio/devices/$vdev/block")
	wait_for 5 test -b "$BLK_DISK" || fail "no $BLK_DISK"
}

# Injects a fault on queue $2 of PCI device $1 again until the device breaks (the driver may
# publish its next request over the injected entry before the device looks), up to 10 times,
# and waits up to 5 s for the recovery; fails the test without one. Sets INJECTED_AT to the
# time ($EPOCHREALTIME) of the injection that took.
inject_until_recovered() {
	local before try
	before=$(recovery_field "$1" recoveries)
	for ((try = 0; try < 10; try++)); do
		INJECTED_AT=$EPOCHREALTIME
		echo "$2" > "$(rvirtio_debugfs "$1")/inject" || fail "injection failed"
		wait_for 1 recovery_above "$1" recoveries "$before" && return 0
	done
	wait_for 5 recovery_above "$1" recoveries "$before" ||
		fail "no recovery within 5 s: $(cat "$(rvirtio_debugfs "$1")/recovery")"
}

# Waits up to $1 seconds for the background jobs of the test to end; fails the test with $2
# if they do not (a process stuck in I/O would never see its stop file).
wait_jobs() {
	local s
	for ((s = 0; s < $1 * 10; s++)); do
		[ -z "$(jobs -rp)" ] && break
		sleep 0.1
	done
	[ -z "$(jobs -rp)" ] || fail "$2: $(jobs -l)"
	wait
}

# Undoes blk_take and blk_throttle (for cleanup traps).
blk_release() {
	blk_throttle 0
	rvirtio_release "$BLK0"
	rmmod virtio_blk 2>/dev/null
}

# Puts the peer NIC into its own namespace and addresses both ends:
# 10.99.0.1/fd99::1 on the NIC under test, 10.99.0.2/fd99::2 in $PEER_NS.
# Prints the name of the NIC under test.
netns_setup() {
	local dev peer
	dev=$(netdev_by_mac "$NIC0_MAC") || fail "no interface with $NIC0_MAC"
	peer=$(netdev_by_mac "$NIC1_MAC") || fail "no interface with $NIC1_MAC"
	ip netns add "$PEER_NS"
	ip link set "$peer" netns "$PEER_NS"
	ip -n "$PEER_NS" link set lo up
	ip -n "$PEER_NS" addr add 10.99.0.2/24 dev "$peer"
	ip -n "$PEER_NS" addr add fd99::2/64 dev "$peer" nodad
	ip -n "$PEER_NS" link set "$peer" up
	ip addr add 10.99.0.1/24 dev "$dev"
	ip addr add fd99::1/64 dev "$dev" nodad
	ip link set "$dev" up
	echo "$dev"
}

# Undoes netns_setup. The peer NIC is moved back explicitly: a namespace outlives its deletion
# while sockets of a cut connection still hold it (minutes of TCP retries).
netns_cleanup() {
	local dev peer
	peer=$(ip -n "$PEER_NS" -o link 2>/dev/null | awk -v m="$NIC1_MAC" '$0 ~ m { sub(/:$/, "", $2); sub(/@.*/, "", $2); print $2 }')
	# Its old name may have been taken meanwhile (by a re-probed NIC under test).
	[ -n "$peer" ] && ip -n "$PEER_NS" link set "$peer" netns 1 name "rvpeer$RANDOM"
	ip netns del "$PEER_NS" 2>/dev/null
	if dev=$(netdev_by_mac "$NIC0_MAC"); then
		ip addr flush dev "$dev"
		ip link set "$dev" down
	fi
	wait_for 5 netdev_by_mac "$NIC1_MAC"
}

# Prints the virtio device (virtioN) of PCI device $1.
virtio_of() {
	local d
	d=$(ls -d "/sys/bus/pci/devices/$1"/virtio* 2>/dev/null | head -n 1) || return 1
	[ -n "$d" ] && basename "$d"
}

# Prints the sum of the counts of interrupt $1 (a name in /proc/interrupts) over all CPUs.
irq_count() {
	awk -v n="$1" '$NF == n { s = 0; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; print s; f = 1 }
		END { if (!f) print -1 }' /proc/interrupts
}

# The interrupt vectors of virtio device $1, one line each: the name after "$1-" (config,
# req.0, input.0...), the CPUs it may run on, and whether its affinity is managed by the kernel.
irq_vectors() {
	local irq name
	awk -v p="$1-" 'index($NF, p) == 1 { sub(/:$/, "", $1); print $1, substr($NF, length(p) + 1) }' /proc/interrupts |
		while read -r irq name; do
			echo "$name $(cat "/proc/irq/$irq/smp_affinity_list")"
		done
}

# Prints QEMU's "broken" flag (true or false) of the virtio device of QEMU device id $1 (nic0,
# blk0...): only QEMU's virtio_error() sets it, when the device itself raises NEEDS_RESET.
qemu_broken() {
	qmp x-query-virtio-status "{\"path\": \"/machine/peripheral/$1/virtio-backend\"}" |
		python3 -c 'import json, sys; print(str(json.load(sys.stdin)["broken"]).lower())'
}

# The queue the tests inject NIC0's faults into (rvirtio-pci's debugfs inject): its control
# queue, the last one (index 2 with one queue pair, as in every boot that injects; the
# benchmark computes it from its queue pairs). The injection writes the available ring without the lock
# the driver holds when it adds buffers, so on a queue the driver is adding to (packets going
# out, receive buffers posted) the driver's next add could overwrite the fault, and the device
# would never see it. Nothing sends a control command during the tests.
NIC0_INJECT_Q=2

qemu_broken_is() { [ "$(qemu_broken "$1")" = "$2" ]; }

# Fails the test with $3 unless QEMU's "broken" flag of device $1 reads $2 (true or false)
# within 5 s: QEMU handles a notification in its own time, so an error may come late.
assert_broken() {
	wait_for 5 qemu_broken_is "$1" "$2" || fail "$3 (QEMU's broken flag of $1: $(qemu_broken "$1"))"
}

# QEMU's error reports since it started, one per line. virtio_error(), which marks a
# device broken and sets NEEDS_RESET, reports each one on QEMU's standard error, which run-vm
# keeps in the shared directory. A recovery that takes milliseconds clears the broken flag
# before a QMP query could see it; these lines stay.
device_error_lines() {
	grep -v '^[^:]*: warning: ' "$RVIRTIO_OUT/qemu.log" 2>/dev/null | grep '^qemu-system'
}

# How many (device_error_lines).
device_errors() {
	device_error_lines | grep -c .
}

device_errors_above() { [ "$(device_errors)" -gt "$1" ]; }

# Fails the test with $2 unless QEMU reports an error after the $1 it had reported (waits up to
# 5 s): the device itself raised the injected fault.
assert_device_raised() {
	wait_for 5 device_errors_above "$1" || fail "$2 (QEMU reported no device error)"
}

# QEMU's last error report, without its program name.
device_last_error() {
	device_error_lines | tail -n 1 | sed 's/^qemu-system[^:]*: //'
}

iperf_listening() {
	ip netns exec "$PEER_NS" ss -ltnH "sport = :$IPERF_PORT" | grep -q .
}

# Starts an iperf3 run of $1 seconds from the NIC under test to the peer, in the background;
# sets IPERF_CLIENT to the client's pid.
iperf_background() {
	ip netns exec "$PEER_NS" iperf3 -s -1 -p $IPERF_PORT -B 10.99.0.2 > /dev/null 2>&1 &
	wait_for 5 iperf_listening || fail "iperf3 server did not start"
	iperf3 -c 10.99.0.2 -p $IPERF_PORT -t "$1" > /tmp/iperf.out 2>&1 &
	IPERF_CLIENT=$!
}

# Runs iperf3 from the NIC under test to the peer for $1 seconds ($2: extra iperf3 options);
# prints the bytes received by the server, and with IPERF_SENT=1 after them the bytes the client
# wrote (more: what was still in flight when the test ended is not received).
IPERF_PORT=5201
iperf_run() {
	local secs=$1 opts=${2:-} out
	ip netns exec "$PEER_NS" iperf3 -s -1 -p $IPERF_PORT -B 10.99.0.2 > /dev/null 2>&1 &
	local srv=$!
	wait_for 5 iperf_listening
	out=$(iperf3 -c 10.99.0.2 -p $IPERF_PORT -t "$secs" -J $opts 2>&1)
	wait "$srv"
	echo "$out" | IPERF_SENT=${IPERF_SENT:-0} python3 -c '
import json, os, sys
r = json.load(sys.stdin)
if "error" in r:
    raise SystemExit(r["error"])
e = r["end"]
print(int(e["sum_received"]["bytes"]), *([int(e["sum_sent"]["bytes"])] if os.environ["IPERF_SENT"] == "1" else []))'
}

# The rvirtio-pci debugfs directory of PCI device $1.
rvirtio_debugfs() {
	echo "/sys/kernel/debug/rvirtio-pci/$1"
}

# Prints field $2 of the recovery statistics of PCI device $1.
recovery_field() {
	awk -v k="$2:" '$1 == k { print $2 }' "$(rvirtio_debugfs "$1")/recovery"
}

# Prints "VECTORS_REUSED RECOVERIES" of PCI device $1, for assert_vectors_kept.
vectors_mark() {
	echo "$(recovery_field "$1" vectors_reused) $(recovery_field "$1" recoveries)"
}

# Fails unless every recovery of PCI device $1 since vectors_mark printed $2 gave the driver's
# new queues the interrupt vectors of its old ones (the transport keeps them across a
# recovery, instead of freeing and allocating them again).
assert_vectors_kept() {
	local reused0 recs0 reused recs
	read -r reused0 recs0 <<< "$2"
	reused=$(recovery_field "$1" vectors_reused)
	[ -n "$reused0" ] && [ -n "$reused" ] || fail "no vectors_reused in the recovery statistics"
	reused=$((reused - reused0)) recs=$(($(recovery_field "$1" recoveries) - recs0))
	[ "$recs" -gt 0 ] || fail "no recovery since the mark"
	[ "$reused" = "$recs" ] ||
		fail "the queues took over their interrupt vectors in $reused of $recs recoveries"
	echo "the queues kept their interrupt vectors across all $recs recoveries"
}

# Succeeds once field $2 of the recovery statistics of PCI device $1 is above $3.
recovery_above() {
	local v
	v=$(recovery_field "$1" "$2") && [ -n "$v" ] && [ "$v" -gt "$3" ]
}

# Prints the phases of the last recovery of PCI device $1: "FROM DETECTED WORK RESET QUIESCED
# READY", FROM "injection" or "detection", the others microseconds from then ("-": none). The
# device is reset before the driver is asked to quiesce.
recovery_phases() {
	awk '$1 == "last_phases_from:" { f = $2 }
		$1 ~ /^last_phase_[a-z]+_us:$/ { sub(/^last_phase_/, "", $1); sub(/_us:$/, "", $1); v[$1] = $2 }
		END { print f, v["detected"], v["work"], v["reset"], v["quiesced"], v["ready"] }' \
		"$(rvirtio_debugfs "$1")/recovery"
}

# Reads lines "FROM DETECTED WORK RESET QUIESCED READY TOTAL_MS" (recovery_phases and the
# time to the first answer) and prints each phase's median and range in milliseconds.
phase_summary() { # phase_summary WHAT
	awk -v what="$1" '
		function stats(c,   n, i, j, k, t, a) {
			n = 0
			for (i = 1; i <= NR; i++) if (val[i, c] != "-") a[++n] = val[i, c] + 0
			if (n == 0) return "-"
			for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
			k = int((n + 1) / 2)
			return sprintf("%.1f [%.1f-%.1f]", a[k], a[1], a[n])
		}
		{
			from[$1] = 1
			for (c = 2; c <= 6; c++) val[NR, c] = ($c == "-" ? "-" : $c / 1000)
			val[NR, 7] = $7
		}
		END {
			f = ""; for (x in from) f = f (f == "" ? "" : "/") x
			printf "phases, ms from the %s, median [min-max] of %d: detected %s, work started %s, device reset %s, quiesced %s, DRIVER_OK %s, %s %s\n",
				f, NR, stats(2), stats(3), stats(4), stats(5), stats(6), what, stats(7)
		}'
}

# Injects a NEEDS_RESET into queue $5 of PCI device $1 $2 times, $6 seconds apart, and times
# each recovery with recovery_wait.py ($3 $4: "ping TARGET" or "read DEVICE"); prints
# "median min max" in milliseconds, and on stderr the phases of the recoveries (phase_summary).
# With $7, injects by writing to that file instead (the net driver's own knob). Fails unless
# each round was a recovery, QEMU reported a device error for each, and the device
# ($RECOVERY_QDEV, default nic0) is not broken after the last.
recovery_times() {
	local bdf=$1 n=$2 mode=$3 target=$4 queue=$5 gap=$6 knob=${7:-} i t e r times=() phases=()
	e=$(device_errors)
	for ((i = 0; i < n; i++)); do
		r=$(recovery_field "$bdf" recoveries)
		t=$(python3 "$RVIRTIO_TOP/selftests/guest/recovery_wait.py" \
			"$(rvirtio_debugfs "$bdf")" "$queue" "$mode" "$target" $knob) || return 1
		times+=("$t")
		# The statistics are written once the work is over, which may be just after the
		# first answer.
		wait_for 5 recovery_above "$bdf" recoveries "$r" ||
			{ echo "round $((i + 1)): no recovery counted" >&2; return 1; }
		phases+=("$(recovery_phases "$bdf") $t")
		sleep "$gap"
	done
	# Each round's error came from the device; and the last recovery left it working.
	[ $(($(device_errors) - e)) -ge "$n" ] ||
		{ echo "QEMU reported $(($(device_errors) - e)) device errors in $n rounds" >&2; return 1; }
	qemu_broken_is "${RECOVERY_QDEV:-nic0}" false ||
		{ echo "${RECOVERY_QDEV:-nic0} still broken after the last recovery" >&2; return 1; }
	printf '%s\n' "${phases[@]}" | phase_summary "first $( [ "$mode" = read ] && echo read || echo ping)" >&2
	printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }'
}

# Moves the virtio device of PCI device $1 from the C virtio_net to rvirtio_net (loaded here
# unless already), with the virtio bus's unbind and bind. The C virtio_net is loaded first so
# that the other NICs stay on it. Prints the virtio device's name.
rvirtio_net_take() {
	local vdev drv
	kmod_load virtio_net || fail "cannot load virtio_net"
	[ -d /sys/module/rvirtio_net ] || must rvirtio_load rvirtio_net
	wait_for 5 virtio_of "$1" || fail "no virtio device under $1"
	vdev=$(virtio_of "$1")
	drv=$(readlink "/sys/bus/virtio/devices/$vdev/driver" 2>/dev/null) &&
		echo "$vdev" > "/sys/bus/virtio/devices/$vdev/driver/unbind"
	echo "$vdev" > /sys/bus/virtio/drivers/rvirtio_net/bind ||
		fail "$vdev could not be bound to rvirtio_net"
	echo "$vdev"
}

# Gives the virtio device of PCI device $1 back to the C virtio_net and unloads rvirtio_net
# (for cleanup traps).
rvirtio_net_release() {
	local vdev
	if vdev=$(virtio_of "$1") && [ "$(basename "$(readlink "/sys/bus/virtio/devices/$vdev/driver" 2>/dev/null)")" = rvirtio_net ]; then
		echo "$vdev" > /sys/bus/virtio/drivers/rvirtio_net/unbind
	fi
	rmmod rvirtio_net 2>/dev/null
	[ -n "$vdev" ] && echo "$vdev" > /sys/bus/virtio/drivers/virtio_net/bind 2>/dev/null
	return 0
}

# Puts NIC0 on rvirtio_net, over the transport $RVNET_TRANSPORT ("c": the upstream virtio-pci,
# the default; "rust": rvirtio-pci, with the devlink parameters $@, see rvirtio_take), and sets
# up the peer namespace. Prints the interface.
rvnet_setup() {
	if [ "${RVNET_TRANSPORT:-c}" = rust ]; then
		must kmod_load virtio_net
		rvirtio_take "$NIC0" "$@"
	fi
	rvirtio_net_take "$NIC0" > /dev/null
	wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface on rvirtio_net"
	local want=virtio-pci
	[ "${RVNET_TRANSPORT:-c}" = rust ] && want=rvirtio-pci
	[ "$(pci_driver "$NIC0")" = "$want" ] || fail "$NIC0 is on $(pci_driver "$NIC0"), not $want"
	echo "rvirtio_net on $want" >&2
	netns_setup
}

# Cleanup of rvnet_setup.
rvnet_cleanup() {
	pkill iperf3
	netns_cleanup
	rvirtio_net_release "$NIC0"
	[ "${RVNET_TRANSPORT:-c}" = rust ] && rvirtio_release "$NIC0"
	return 0
}

# Prints counter $2 (statistics/$2) of interface $1.
netdev_stat() {
	cat "/sys/class/net/$1/statistics/$2"
}

# Packets the root qdisc of interface $1 has given to the driver.
qdisc_sent() {
	tc -s qdisc show dev "$1" | awk '$1 == "Sent" { print $4; exit }'
}

# Byte queue limits of interface $1, one line per transmit queue: "tx-N inflight B limit L".
bql_show() {
	local q
	for q in /sys/class/net/"$1"/queues/tx-*; do
		echo "${q##*/} inflight $(cat "$q/byte_queue_limits/inflight") limit $(cat "$q/byte_queue_limits/limit")"
	done
}

bql_idle() {
	! bql_show "$1" | awk '$3 != 0 { bad = 1 } END { exit !bad }'
}

# Fails unless byte queue limits of interface $1 come back to nothing in flight on every
# transmit queue within 5 s (each byte counted as given to the device counted back as sent, or
# forgotten at a reset), and unless the limit of some queue grew from 0 (the driver reports
# both); prints the queues.
bql_settled() {
	wait_for 5 bql_idle "$1" || fail "BQL: bytes still in flight: $(bql_show "$1" | tr '\n' ' ')"
	bql_show "$1"
	bql_show "$1" | awk '$5 > 0 { ok = 1 } END { exit !ok }' ||
		fail "BQL: every queue's limit is still 0 after traffic"
}

# Fails unless the interface of NIC0 is driven by rvirtio_net.
assert_rvirtio_net() {
	local drv
	drv=$(basename "$(readlink "/sys/class/net/$1/device/driver")")
	[ "$drv" = rvirtio_net ] || fail "$1 is driven by $drv, not rvirtio_net"
}

# Runs "ping" with arguments $@ and fails on any loss.
ping_ok() {
	local out
	out=$("$@" 2>&1)
	echo "$out" | tail -n 2
	echo "$out" | grep -q ' 0% packet loss' || fail "'$*' lost packets"
}

# rvirtio_net's fault-injection file for the virtio device of PCI device $1, point ${2:-fail_tx}
# ("times" of the kernel's fault injection framework: writing 1 makes the next check fail).
rvnet_knob() {
	echo "/sys/kernel/debug/rvirtio_net-$(virtio_of "$1")/${2:-fail_tx}/times"
}

# Prints field $2 of the "stops" debugfs file (system sleep and function resets) of PCI device
# $1: "sleep", "reset" or "last".
stops_field() {
	sed -n "s/^$2: //p" "$(rvirtio_debugfs "$1")/stops"
}

# TCP segments retransmitted so far, in namespace $1 (ours without it): the interfaces count
# them, the payload that iperf3 reports does not.
tcp_retrans() {
	${1:+ip netns exec "$1"} nstat -az TcpRetransSegs | awk '$1 == "TcpRetransSegs" { print $2 }'
}
