#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The scale benchmark (make bench-scale): boots the guest with SCALE_MAX extra virtio-blk-pci
# devices of 4 queues each (null backends, behind two PCI-PCI bridges), once per MSI-X vector
# setting, and in each boot binds the first N of them (N of SCALE_DEVICES) to the C virtio-pci
# and to rvirtio-pci in turn, virtio_blk on top, round after round: the time until all disks
# are there, the kernel memory they take and the interrupt vectors they use. Prints the table,
# writes scale.json and scale.txt. What is measured and how: Documentation/benchmarks.rst,
# section "Scale".
#
# Environment:
#   SCALE_DEVICES="8 16 32"     device counts (each at most SCALE_MAX)
#   SCALE_MAX=32                devices QEMU creates (at most 62: 31 per bridge)
#   SCALE_ROUNDS=3              rounds; each binds the N devices once per transport
#   SCALE_VECTORS="default 2 0" one boot per setting: the devices' MSI-X table size ("default":
#                               QEMU's, one per queue plus config; 2: config plus one shared by
#                               the queues; 0: no MSI-X, INTx)
#   SCALE_SMOKE=1               a short run: 4 devices, counts "2 4", one round, vectors "default 0"
#   SCALE_OUT=DIR               results and VM logs (default out/bench-scale, out/bench-scale-smoke)
#   KDIR, RVIRTIO_MODDIR        the kernel build and our modules, as for the tests
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/env.sh"
here=$top/selftests/bench

smoke=${SCALE_SMOKE:-0}
if [ "$smoke" = 1 ]; then
	counts=${SCALE_DEVICES:-2 4} max=${SCALE_MAX:-4} rounds=${SCALE_ROUNDS:-1}
	vectors=${SCALE_VECTORS:-default 0}
	out=${SCALE_OUT:-$top/out/bench-scale-smoke}
else
	counts=${SCALE_DEVICES:-8 16 32} max=${SCALE_MAX:-32} rounds=${SCALE_ROUNDS:-3}
	vectors=${SCALE_VECTORS:-default 2 0}
	out=${SCALE_OUT:-$top/out/bench-scale}
fi
[ "$max" -ge 1 ] && [ "$max" -le 62 ] || { echo "scale: SCALE_MAX must be 1..62" >&2; exit 2; }
for n in $counts; do
	[ "$n" -ge 1 ] && [ "$n" -le "$max" ] ||
		{ echo "scale: device count $n is not within 1..$max (SCALE_MAX)" >&2; exit 2; }
done
kdir=${KDIR:-$("$top/scripts/kernel.sh" --path normal)}
moddir=${RVIRTIO_MODDIR:-$top/out/build}
[ -f "$moddir/rvirtio_pci.ko" ] || { echo "scale: no $moddir/rvirtio_pci.ko" >&2; exit 2; }

# QEMU arguments of the extra devices with MSI-X setting $1: two bridges (chassis numbers and
# slots apart from run-vm's own, -F's included), half the devices behind each, slots 1 up.
qemu_devices() {
	local vec=$1 i bus slot prop=
	[ "$vec" = default ] || prop=,vectors=$vec
	echo -n "-device pci-bridge,id=scbr1,chassis_nr=11,shpc=off,addr=0x18"
	echo -n " -device pci-bridge,id=scbr2,chassis_nr=12,shpc=off,addr=0x19"
	for ((i = 0; i < max; i++)); do
		bus=scbr$((i < (max + 1) / 2 ? 1 : 2))
		slot=$((i < (max + 1) / 2 ? i + 1 : i - (max + 1) / 2 + 1))
		echo -n " -blockdev driver=null-co,node-name=scnull$i,size=67108864,read-zeroes=on"
		echo -n " -device virtio-blk-pci,id=scblk$i,drive=scnull$i,disable-legacy=on"
		echo -n ",num-queues=4$prop,bus=$bus,addr=$(printf '0x%x' "$slot")"
	done
}

mkdir -p "$out"
rm -f "$out"/scale.json "$out"/scale.txt
ncounts=$(echo $counts | wc -w)
# Per boot: about 2 s per device bound or unbound under TCG, generously, plus the boot.
timeout=$((300 + (rounds * 2 + 1) * ncounts * max * 4))
echo "scale: devices $counts of $max, $rounds rounds, vectors: $vectors; logs in $out/vm-*" >&2
t0=$(date +%s)
raws=() rc=0
for vec in $vectors; do
	vm=$out/vm-vectors-$vec
	rm -rf "$vm"
	mkdir -p "$vm"
	: > "$vm/output.log"
	tail -n 0 -F "$vm/output.log" 2> /dev/null | sed -u "s/^/scale: vectors=$vec: guest: /" >&2 &
	tailpid=$!
	r=0
	"$top/selftests/vm/run-vm" -k "$kdir" -o "$vm" -t "$timeout" -q "$(qemu_devices "$vec")" \
		-e "RVIRTIO_MODDIR=$moddir" -e "SCALE_DEVICES=$counts" -e "SCALE_ROUNDS=$rounds" \
		-e "SCALE_MAX=$max" "$here/scale-guest.sh" > "$vm/run-vm.log" 2>&1 || r=$?
	sleep 0.5
	kill "$tailpid" 2> /dev/null || true
	wait "$tailpid" 2> /dev/null || true
	grep '^run-vm:' "$vm/run-vm.log" | sed "s/^/scale: vectors=$vec: /" >&2 || true
	if [ $r != 0 ]; then
		echo "scale: vectors=$vec: the guest run failed (run-vm status $r: 124 timeout," \
			"125 kernel splat); see $vm/run-vm.log" >&2
		tail -n 20 "$vm/run-vm.log" >&2
		rc=1
	fi
	if [ -s "$vm/share/scale-meta.tsv" ]; then
		raws+=("$vec=$vm/share/scale-raw.tsv:$vm/share/scale-meta.tsv")
	else
		echo "scale: vectors=$vec: the guest produced no results" >&2
		rc=1
	fi
done
runtime=$(($(date +%s) - t0))
if [ ${#raws[@]} = 0 ]; then
	echo "scale: no results" >&2
	exit 1
fi
python3 "$here/scale_report.py" build "$out/scale.json" "${raws[@]}" -- "runtime_s=$runtime" \
	"host_cpus=$(nproc)" "accel=$(sed -n 's/^run-vm: \([a-z]*\),.*/\1/p' "$vm/run-vm.log" | head -n 1)" \
	"rounds=$rounds" "smoke=$smoke" "date=$(date -u +%FT%TZ)" | tee "$out/scale.txt"
echo "scale: $out/scale.json, $out/scale.txt (run took ${runtime} s)" >&2
exit $rc
