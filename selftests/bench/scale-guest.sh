#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# In the guest, run by selftests/bench/scale.sh through run-vm: the scale benchmark. QEMU gave
# the guest SCALE_MAX extra virtio-blk-pci devices (4 queues each, null backends) behind PCI-PCI
# bridges. They are taken away from the C virtio-pci that bound them at boot, then, for each
# count N of SCALE_DEVICES, round after round, the first N are bound to each transport in turn
# (C virtio-pci and rvirtio-pci, the order flipping from round to round) with virtio_blk on
# top, and unbound again. Round 0 binds the smallest count once per transport, not reported:
# under TCG the first run of a code path pays for its translation.
#
# Per bind: the time from the first bind request to the last disk in /sys/block (bind_ms), the
# time to unbind them all until the last disk is gone (unbind_ms), MemAvailable and Slab of
# /proc/meminfo before and after the bind, each read after dropping the caches (avail_kb and
# slab_kb: how much they went down, all N devices), the MSI/MSI-X vectors the N devices hold
# (msi_irqs entries), the lines of /proc/interrupts that appeared (irq_lines) and the distinct
# legacy interrupt lines of the N devices (intx_lines, when they have no MSI-X), and the
# request queues virtio_blk made on the first device (mq_queues: at most one per CPU).
#
# Raw samples go to $RVIRTIO_OUT/scale-raw.tsv, one per line: N ROUND TRANSPORT METRIC VALUE
# (VALUE a number or failed); facts about the run to scale-meta.tsv.
#
# Environment: SCALE_DEVICES ("8 16 32"), SCALE_ROUNDS (3), SCALE_MAX (the devices QEMU made,
# 32), RVIRTIO_MODDIR.
. "$RVIRTIO_TOP/selftests/guest/lib.sh"

counts=(${SCALE_DEVICES:-8 16 32})
rounds=${SCALE_ROUNDS:-3}
max=${SCALE_MAX:-32}
raw=$RVIRTIO_OUT/scale-raw.tsv
meta=$RVIRTIO_OUT/scale-meta.tsv
: > "$raw"
: > "$meta"
# How long one bind or unbind of all devices may take (seconds), generous under TCG.
BIND_TIMEOUT=${SCALE_BIND_TIMEOUT:-120}
# What the devices' driver_override holds while they are not measured: no driver matches it.
PARKED=rvirtio-scale-parked

record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >> "$raw"; }
meta() { printf '%s\t%s\n' "$1" "$2" >> "$meta"; }
now_ns() { date +%s%N; }

# The extra devices: the virtio-blk-pci devices (1af4:1042) behind a bridge (run-vm's own disk
# is on bus 0; scale.sh does not use run-vm -F), in the order of their addresses.
devs=()
for d in /sys/bus/pci/devices/*; do
	b=${d##*/}
	[ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1042 ] || continue
	[ "${b:5:2}" = 00 ] && continue
	devs+=("$b")
done
[ ${#devs[@]} = "$max" ] || fail "found ${#devs[@]} extra virtio-blk devices, QEMU made $max"
for n in "${counts[@]}"; do
	[ "$n" -le "$max" ] || fail "SCALE_DEVICES has $n, above the $max devices"
done

# Park them all: no driver may take them while they are not measured (rvirtio_pci's load
# would probe every unbound one).
for b in "${devs[@]}"; do
	echo "$PARKED" > "/sys/bus/pci/devices/$b/driver_override"
	[ -e "/sys/bus/pci/devices/$b/driver" ] && echo "$b" > "/sys/bus/pci/devices/$b/driver/unbind"
done
must kmod_load virtio_blk
[ -d /sys/module/rvirtio_pci ] || must rvirtio_load rvirtio_pci
[ -d /sys/bus/pci/drivers/rvirtio-pci ] || fail "no PCI driver rvirtio-pci"

meta devices "$max"
# The MSI-X table size of the first device (0: no MSI-X capability), from its config space.
msix_table() {
	python3 -c '
import sys
c = open(sys.argv[1], "rb").read()
p = c[0x34] if c[6] & 0x10 else 0
while p:
    if c[p] == 0x11:
        print((int.from_bytes(c[p + 2:p + 4], "little") & 0x7ff) + 1)
        break
    p = c[p + 1]
else:
    print(0)' "/sys/bus/pci/devices/$1/config"
}
meta msix_table "$(msix_table "${devs[0]}")"
meta kernel "$(uname -r)"
meta cpus "$(nproc)"
meta mem_total_kb "$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)"

meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

# Caches dropped, twice (what the first frees may let more go), then "MemAvailable Slab".
mem_snapshot() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	echo 3 > /proc/sys/vm/drop_caches
	echo "$(meminfo MemAvailable) $(meminfo Slab)"
}

# How many of the first $1 devices have their disk in /sys/block.
disks_present() {
	local i c=0 b
	for ((i = 0; i < $1; i++)); do
		b=/sys/bus/pci/devices/${devs[i]}
		for v in "$b"/virtio*/block/*; do
			[ -e "/sys/block/${v##*/}" ] && { c=$((c + 1)); break; }
		done
	done
	echo $c
}
all_disks() { [ "$(disks_present "$1")" = "$1" ]; }
no_disks() { [ "$(disks_present "$1")" = 0 ]; }

# Unbinds the first $1 devices and parks them; waits until their disks are gone.
unbind_all() {
	local i b
	for ((i = 0; i < $1; i++)); do
		b=${devs[i]}
		[ -e "/sys/bus/pci/devices/$b/driver" ] && echo "$b" > "/sys/bus/pci/devices/$b/driver/unbind"
		echo "$PARKED" > "/sys/bus/pci/devices/$b/driver_override"
	done
	wait_for "$BIND_TIMEOUT" no_disks "$1"
}

irq_lines() { grep -c ':' /proc/interrupts; }

# One measurement: the first $1 devices to PCI driver $3 in round $2.
measure() {
	local n=$1 round=$2 drv=$3 tr=$4 i b t0 t1 m0 m1 l0 l1 msi=0 lines=() ok=1 v
	m0=$(mem_snapshot)
	l0=$(irq_lines)
	t0=$(now_ns)
	for ((i = 0; i < n; i++)); do
		b=${devs[i]}
		echo "$drv" > "/sys/bus/pci/devices/$b/driver_override"
		echo "$b" > "/sys/bus/pci/drivers/$drv/bind" 2> /dev/null || ok=0
	done
	if [ $ok = 1 ] && wait_for "$BIND_TIMEOUT" all_disks "$n"; then
		t1=$(now_ns)
		[ "$round" = 0 ] || record "$n" "$round" "$tr" bind_ms $(((t1 - t0) / 1000000))
	else
		echo "scale: $n devices on $drv: $(disks_present "$n") disks within ${BIND_TIMEOUT}s" >&2
		[ "$round" = 0 ] || record "$n" "$round" "$tr" bind_ms failed
		unbind_all "$n" || fail "$n devices on $drv: disks still there after unbind"
		return 1
	fi
	l1=$(irq_lines)
	local mq=$(ls -d "/sys/bus/pci/devices/${devs[0]}"/virtio*/block/*/mq/[0-9]* 2> /dev/null | wc -l)
	for ((i = 0; i < n; i++)); do
		b=/sys/bus/pci/devices/${devs[i]}
		[ -d "$b/msi_irqs" ] && msi=$((msi + $(ls "$b/msi_irqs" | wc -l)))
		lines+=("$(cat "$b/irq")")
	done
	m1=$(mem_snapshot)
	t0=$(now_ns)
	unbind_all "$n" || fail "$n devices on $drv: disks still there ${BIND_TIMEOUT}s after unbind"
	t1=$(now_ns)
	[ "$round" = 0 ] && return 0
	record "$n" "$round" "$tr" unbind_ms $(((t1 - t0) / 1000000))
	set -- $m0 $m1
	record "$n" "$round" "$tr" avail_kb $(($1 - $3))
	record "$n" "$round" "$tr" slab_kb $(($4 - $2))
	record "$n" "$round" "$tr" msi_vectors "$msi"
	record "$n" "$round" "$tr" irq_lines $((l1 - l0))
	record "$n" "$round" "$tr" mq_queues "$mq"
	v=0
	[ "$msi" = 0 ] && v=$(printf '%s\n' "${lines[@]}" | sort -u | wc -l)
	record "$n" "$round" "$tr" intx_lines "$v"
}

declare -A drvs=([c]=virtio-pci [rust]=rvirtio-pci)
echo "scale: ${#devs[@]} devices, counts ${counts[*]}, $rounds rounds" >&2
# Warm-up, round 0.
for tr in c rust; do
	measure "${counts[0]}" 0 "${drvs[$tr]}" "$tr" || true
done
for n in "${counts[@]}"; do
	for ((r = 1; r <= rounds; r++)); do
		order=(c rust)
		[ $((r % 2)) = 0 ] && order=(rust c)
		for tr in "${order[@]}"; do
			t=$(now_ns)
			measure "$n" "$r" "${drvs[$tr]}" "$tr" || true
			echo "scale: N=$n round $r $tr: $(( ($(now_ns) - t) / 1000000 )) ms in all" >&2
		done
	done
done

# Give them back to the C transport, as the kernel found them.
for b in "${devs[@]}"; do
	echo "" > "/sys/bus/pci/devices/$b/driver_override"
	echo "$b" > /sys/bus/pci/drivers_probe 2> /dev/null || true
done
exit 0
