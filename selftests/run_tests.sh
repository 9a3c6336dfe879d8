#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The whole test suite: host tests of the pure logic and the tooling, then guest tests in
# booted VMs. Prints KTAP and ends with one line "N passed, N failed, N skipped" (a skip is
# not a pass). Exits non-zero if any test failed. Expects the kernel and the modules to be
# built (make check does both).
#
# Logs of each boot go to $RVIRTIO_TEST_OUT (default: out/tests under the checkout).
#
# RVIRTIO_FLAVOUR=debug runs the short robustness suite on the debug kernel (KASAN, lockdep,
# kmemleak) instead, with the modules built for it in $RVIRTIO_MODDIR (make check-debug).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/env.sh"
flavour=${RVIRTIO_FLAVOUR:-normal}
kdir=${KDIR:-$("$top/scripts/kernel.sh" --path "$flavour")}
moddir=${RVIRTIO_MODDIR:-$top/out/build}
outroot=${RVIRTIO_TEST_OUT:-$top/out/tests-$flavour}
rm -rf "$outroot"
mkdir -p "$outroot"
guest=$top/selftests/guest
vm=$top/selftests/vm/run-vm

# Both variants of rvirtio_net tests: on the C virtio-pci and on rvirtio-pci (run.sh: TEST@c,
# TEST@rust).
both() {
	local t
	for t in "$@"; do echo "$t@c $t@rust"; done
}

# Boots: name, extra NIC properties, guest tests. pci_device_del removes a NIC: it runs last.
base_tests=(skeleton_load_unload driver_override c_ping_netns qmp_channel pci_c_virtio_net
	pci_c_virtio_blk pci_c_virtio_rng virtio_vqs_once pci_c_virtio_console pci_bind_cycles
	pci_rmmod_under_traffic pci_device_del)
# shellcheck disable=SC2207 # the matrix's words
intx_tests=(pci_c_virtio_net reset_net_freeze_restore $(both net_basic))
# shellcheck disable=SC2207
shared_tests=(pci_c_virtio_net $(both net_basic))
# DEVICE_NEEDS_RESET recovery: a boot of its own (the storm test counts kernel messages).
reset_tests=(reset_detect_only reset_detect_poll reset_net_freeze_restore reset_blk_prepare_done
	reset_reprobe reset_storm reset_race reset_unbind_broken devlink_health kselftest_recovery)
# Devices that break with I/O in flight: a disk under O_DIRECT load and under ext4 (with the
# virtio_blk change proposed in Documentation/patches/, built as a test module), and NICs under
# traffic both ways and under a burst of control commands; then the stock virtio_blk, whose
# stuck reset_prepare the transport reports.
# reset_blk_stuck_driver leaves the stock virtio_blk stuck: it comes last.
inflight_tests=(reset_blk_in_flight reset_blk_ext4 reset_blk_race reset_net_in_flight
	reset_blk_stuck_driver)
# PCI function resets (devices alone behind bridges: run-vm -F).
flr_tests=(pci_function_reset)
# rvirtio_net on a NIC with two queue pairs and offloads (tap backend: vnet headers).
# shellcheck disable=SC2207
mq_tests=($(both net_ethtool net_basic net_qstats net_gro_hw))
# shellcheck disable=SC2207
big_tests=($(both net_basic net_gro_hw))
# rvirtio_net, on the C virtio-pci and on rvirtio-pci; then what only one transport has: the
# recovery (rvirtio-pci), and its absence (virtio-pci).
rvnet_tests=(net_basic net_link net_mtu net_rx_filter net_rx_refill net_unbind_rmmod)
net_c_tests=("${rvnet_tests[@]/%/@c}" net_reset_c_transport)
net_rust_tests=("${rvnet_tests[@]/%/@rust}" net_reset net_tx_timeout net_ctrl_timeout@rust net_open_race debugfs_open_rmmod)
# NICs whose notification structure is in an I/O BAR (modern-pio-notify=on): the C and the Rust
# net driver on rvirtio-pci, traffic and recovery.
pio_tests=(pci_pio_notify net_basic@rust net_reset)
# The same NICs with their I/O BAR left without a resource (the boot reserves the whole PCI I/O
# window of QEMU's pc machine, 0xd00-0xffff): a capability naming a BAR without a resource is
# skipped with a warning, as the C transport skips it, and the C and the Rust net driver carry
# traffic through the memory notification structure.
nores_tests=(pci_cap_no_resource net_basic@rust)
nores_kargs="reserve=0xd00,0xf300"

n=0 passed=0 failed=0 skipped=0
result() { # result OK|FAIL NAME [DIRECTIVE]
	n=$((n + 1))
	local dir=${3:-}
	if [ "$1" = OK ] && [ "${dir#SKIP}" != "$dir" ]; then
		skipped=$((skipped + 1))
		echo "ok $n $2 # $3"
	elif [ "$1" = OK ]; then
		passed=$((passed + 1))
		echo "ok $n $2${3:+ # $3}"
	else
		failed=$((failed + 1))
		echo "not ok $n $2${3:+ # $3}"
	fi
}

# The name a test reports (run.sh): NAME, or NAME[virtio-pci] / NAME[rvirtio-pci] for TEST@c
# and TEST@rust.
test_label() {
	case $1 in
	*@c) echo "${1%@c}[virtio-pci]" ;;
	*@rust) echo "${1%@rust}[rvirtio-pci]" ;;
	*) echo "$1" ;;
	esac
}

# Guest tests run in boots; each guest test and the boot itself (exit status, no splat) are
# test points. A boot is started in the background (boot_start, with the settings of the
# variables boot_queues, boot_bridged, kargs and big_env at that moment) as soon as fewer than
# $max_boots guests run (TCG runs each guest in one host thread: one per core), and reported,
# in the order the boots started, once it is done (boot_wait, report_done). When boots run
# side by side, the timings their tests print were taken under load, and their headers say so.
max_boots=${RVIRTIO_PARALLEL_BOOTS:-2}
declare -A boot_pids boot_args boot_heads
started=() reported=0

# Waits until fewer than $max_boots guests run, reporting the boots that end meanwhile.
wait_for_slot() {
	while [ "$(jobs -rp | wc -l)" -ge "$max_boots" ]; do
		wait -n
		report_done
	done
}

boot_start() {
	local name=$1 nic_opts=$2 expect_irq=$3
	shift 3
	wait_for_slot
	local paths=() t
	for t in "$@"; do
		case $t in
		*@*) paths+=("$guest/tests/${t%@*}.sh@${t##*@}") ;;
		*) paths+=("$guest/tests/$t.sh") ;;
		esac
	done
	local out=$outroot/$name
	boot_args[$name]="$*"
	boot_heads[$name]="# boot $name${nic_opts:+ (virtio-net-pci $nic_opts)}${kargs:+ (kernel: $kargs)}: ${*}"
	(
		rc=0
		"$vm" -k "$kdir" -o "$out" -t "$boot_timeout" ${boot_queues:+-Q "$boot_queues"} ${boot_bridged:+-F} ${kargs:+-c "$kargs"} ${nic_opts:+-n "$nic_opts"} -e "RVIRTIO_EXPECT_IRQ=$expect_irq" \
			-e "RVIRTIO_MODDIR=$moddir" -e "RVIRTIO_BIND_CYCLES=$bind_cycles" \
			-e "RVIRTIO_MIN_BYTES=$min_bytes" -e "RVIRTIO_RECOVERY_ROUNDS=$recovery_rounds" \
			-e "RVIRTIO_RACE_ROUNDS=$race_rounds" -e "RVIRTIO_RECOVERY_IPERF_SECS=$recovery_iperf_secs" \
			-e "RVIRTIO_EXPECT_BIG=${big_env:-0}" \
			"$guest/run.sh" -t "$test_timeout" "${paths[@]}" > "$out.ktap" 2> "$out.runner.log" || rc=$?
		echo "$rc" > "$out.rc"
	) &
	boot_pids[$name]=$!
	started+=("$name")
}

# Reports the boots that are done, in the order they started, up to the first still running.
report_done() {
	local name
	while [ "$reported" -lt "${#started[@]}" ]; do
		name=${started[$reported]}
		[ -e "$outroot/$name.rc" ] || return 0
		boot_wait "$name" "$load_note"
		reported=$((reported + 1))
	done
}

# Waits for every boot started and reports them.
report_all() {
	while [ "$reported" -lt "${#started[@]}" ]; do
		wait "${boot_pids[${started[$reported]}]}"
		report_done
	done
}

boot_wait() { # boot_wait NAME [NOTE]
	local name=$1 note=${2:-}
	local out=$outroot/$name
	wait "${boot_pids[$name]}" 2> /dev/null
	echo "${boot_heads[$name]}${note:+ ($note)}"
	local rc log
	rc=$(cat "$out.rc" 2>/dev/null || echo 126)
	log=$(cat "$out.ktap" 2>/dev/null)
	# shellcheck disable=SC2086 # the test names, split
	set -- ${boot_args[$name]}
	local seen=() line
	while IFS= read -r line; do
		case $line in
		"ok "* | "not ok "*)
			local ok=OK rest
			[ "${line#not }" != "$line" ] && { ok=FAIL; line=${line#not }; }
			rest=${line#ok }
			rest=${rest#* }              # drop the guest's number
			local tname=${rest%% \#*} dir=
			[ "$tname" != "$rest" ] && dir=${rest#* \# }
			seen+=("$tname")
			result $ok "$name.$tname" "$dir"
			;;
		"# "*) echo "$line" ;;
		esac
	done <<< "$log"
	for t in "$@"; do
		t=$(test_label "$t")
		if ! printf '%s\n' "${seen[@]}" | grep -qxF "$t"; then
			echo "# $t did not report (guest died or timed out)"
			result FAIL "$name.$t"
		fi
	done
	sed 's/^/# /' "$out.runner.log"
	if [ "$rc" = 0 ] || { [ "$rc" = 1 ] && [ ${#seen[@]} = $# ]; }; then
		result OK "$name.boot_clean"
	else
		echo "# runner status $rc (124 timeout, 125 kernel splat, 126 VM failure)"
		result FAIL "$name.boot_clean"
	fi
}

# A boot alone.
boot() {
	boot_start "$@"
	boot_wait "$1"
}

# The note of a boot that ran beside another.
paired="run beside another guest: timings taken under load"
load_note=$( ((max_boots > 1)) && echo "$paired")

boot_timeout=1800
test_timeout=300
kargs=
bind_cycles=100
min_bytes=1000000
recovery_rounds=10
race_rounds=10
recovery_iperf_secs=6
if [ "$flavour" = debug ]; then
	# KASAN and lockdep under TCG are about ten times slower: a short, targeted suite in three
	# boots (transport, recovery, net driver), each with a kmemleak scan at its end
	# (guest-init).
	debug_tests=(skeleton_load_unload driver_override pci_c_virtio_net pci_c_virtio_blk
		pci_bind_cycles pci_function_reset pci_rmmod_under_traffic pci_device_del)
	debug_reset_tests=(reset_net_freeze_restore reset_blk_prepare_done reset_reprobe reset_storm devlink_health
		reset_race reset_blk_in_flight reset_blk_race)
	debug_net_tests=(virtio_vqs_once net_basic net_unbind_rmmod net_reset net_open_race)
	boot_timeout=3600
	test_timeout=1200
	min_bytes=100000
	recovery_rounds=5
	race_rounds=4
	# TCP's retransmission timer backs off while the debug kernel recovers slowly.
	recovery_iperf_secs=20
	# Legacy interrupt routing from the BIOS's table instead of ACPI: under KASAN and TCG the
	# AML interpreter needs more than ACPI's 30 s loop limit for the machine's _PRT, which it
	# evaluates whenever a PCI device is enabled (at boot, and at each bind).
	# Four-level paging: with LA57, KASAN's address check depends on the LA57 feature bit,
	# which identify_cpu() clears and sets again at boot; an interrupt in between gave a
	# wild-memory-access report (known-splats), and its taint turned lockdep off for the boot.
	kargs="acpi=noirq no5lvl"
	echo "KTAP version 1"
	echo "1..$((${#debug_tests[@]} + ${#debug_reset_tests[@]} + ${#debug_net_tests[@]} + 3))"
	boot_bridged=1 boot debug "" per-queue "${debug_tests[@]}"
	boot debug-reset "" per-queue "${debug_reset_tests[@]}"
	boot debug-net "" per-queue "${debug_net_tests[@]}"
	echo "$passed passed, $failed failed, $skipped skipped"
	[ $failed = 0 ]
	exit
fi

# The plan: 7 host tests; each boot's tests and its boot_clean; the two runner self-tests and
# the bench smoke run. The end of the run checks that this many were reported.
total=$((7 + ${#base_tests[@]} + 1 + ${#reset_tests[@]} + 1 + ${#inflight_tests[@]} + 1 +
	${#flr_tests[@]} + 1 + ${#net_c_tests[@]} + 1 + ${#net_rust_tests[@]} + 1 +
	${#pio_tests[@]} + 1 + ${#nores_tests[@]} + 1 + ${#mq_tests[@]} + 1 + ${#big_tests[@]} + 1 +
	${#intx_tests[@]} + 1 + ${#shared_tests[@]} + 1 + 2 + 1))
echo "KTAP version 1"
echo "1..$total"

# Host: the splat detector's own unit tests.
if out=$(cd "$top/selftests/host" && python3 -m unittest -v test_splat_check 2>&1); then
	echo "$out" | sed 's/^/# /' | tail -n 3
	result OK host.splat_check_unit
else
	echo "$out" | sed 's/^/# /'
	result FAIL host.splat_check_unit
fi

# Host: the Rust sources are rustfmt, clippy and rustdoc clean (kernel flags, -Dwarnings).
lint() { # lint NAME COMMAND...
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		result OK "host.$name"
	else
		echo "$out" | tail -n 30 | sed 's/^/# /'
		result FAIL "host.$name"
	fi
}
lint rustfmt make -s -C "$top" rustfmtcheck
lint clippy make -s -C "$top" BUILD="$moddir" clippy
lint rustdoc "$top/scripts/rustdoc.sh" "$moddir" "$outroot/doc"
# Drivers that misuse the abstractions (e.g. keep a virtqueue beyond the binding) do not build.
lint compile_fail make -s -C "$top" BUILD="$moddir" compile-fail

# Host: the upstream patch series is generated from these sources, applies in order to the
# pristine kernel sources and is checkpatch --strict clean (with its documented exceptions).
if out=$(make -s -C "$top" patches 2>&1); then
	echo "$out" | grep -E '^(patches:|# [0-9]+ patches apply|# checkpatch)' | sed 's/^# //; s/^/# /'
	result OK host.patches
else
	echo "$out" | grep -v -- '-- accepted:' | tail -n 30 | sed 's/^# //; s/^/# /'
	result FAIL host.patches
fi

# Host: the modules' pure logic, unit tests and fuzzing (cargo test, no kernel needed).
if out=$(cd "$top/selftests/host/rvirtio-logic" && cargo test --offline -- --nocapture 2>&1); then
	echo "$out" | grep -E '^(capability fuzz|test result)' | head -n 1 | sed 's/^/# /'
	echo "$out" | grep -E '^test result' | head -n 1 | sed 's/^/# /'
	result OK host.logic_unit_and_fuzz
else
	echo "$out" | tail -n 40 | sed 's/^/# /'
	result FAIL host.logic_unit_and_fuzz
fi

# The benchmark command in smoke mode (its own boot, as one of the guests): it runs the whole
# matrix and writes bench.json with every key. No speed is judged.
bench_smoke() {
	wait_for_slot
	(
		rc=0
		RVIRTIO_MODDIR=$moddir KDIR=$kdir "$top/selftests/bench/smoke.sh" "$outroot/bench-smoke" \
			> "$outroot/bench-smoke.log" 2>&1 || rc=$?
		echo "$rc" > "$outroot/bench-smoke.rc"
	) &
	bench_pid=$!
}

# Longest first, so that the two guests finish together.
boot_start base "" per-queue "${base_tests[@]}"
boot_queues=2 boot_start mq "" per-queue "${mq_tests[@]}"
boot_start net-rust "" per-queue "${net_rust_tests[@]}"
boot_start reset "" per-queue "${reset_tests[@]}"
boot_start inflight "" per-queue "${inflight_tests[@]}"
boot_start net-c "" per-queue "${net_c_tests[@]}"
bench_smoke
# Receive GSO without mergeable buffers: rvirtio_net posts big-packet buffers.
big_env=1 boot_queues=2 boot_start big "mrg_rxbuf=off" per-queue "${big_tests[@]}"
boot_start pio "modern-pio-notify=on" per-queue "${pio_tests[@]}"
kargs=$nores_kargs boot_start pio-nores "modern-pio-notify=on" per-queue "${nores_tests[@]}"
# Interrupt modes forced from QEMU: no MSI-X at all, and fewer vectors than queues + 1.
boot_start intx "vectors=0" intx "${intx_tests[@]}"
boot_start shared "vectors=2" shared "${shared_tests[@]}"
boot_bridged=1 boot_start flr "" per-queue "${flr_tests[@]}"
report_all
wait "$bench_pid"

# The runner's self-tests, both boots at once: a guest script that succeeds but loads a module
# raising WARN_ON, and one that only sets TAINT_WARN. The runner must report each run as failed
# because of it (status 125) and name it.
"$vm" -k "$kdir" -o "$outroot/splat" -t 300 -e "RVIRTIO_MODDIR=$moddir" "$guest/splat.sh" \
	> "$outroot/splat.script.log" 2> "$outroot/splat.runner.log" &
splat_pid=$!
"$vm" -k "$kdir" -o "$outroot/taint" -t 300 "$guest/taint.sh" \
	> "$outroot/taint.script.log" 2> "$outroot/taint.runner.log" &
taint_pid=$!
echo "# runner self-test: a deliberate WARN_ON must fail the run"
rc=0
wait $splat_pid || rc=$?
out=$outroot/splat
sed 's/^/# /' "$out.runner.log" | grep -E 'splat|status' | head -n 8
if [ $rc = 125 ] && grep -q 'WARNING:' "$out.runner.log" && grep -q 'rvirtio_splat' "$out/console.log" &&
	grep -q 'exiting 0' "$out.script.log"; then
	result OK runner.splat_detector_catches_warn
else
	echo "# expected status 125 with a WARNING from rvirtio_splat, got $rc"
	result FAIL runner.splat_detector_catches_warn
fi
echo "# runner self-test: a taint set during the script must fail the run"
rc=0
wait $taint_pid || rc=$?
out=$outroot/taint
sed 's/^/# /' "$out.runner.log" | grep -E 'splat|status|taint' | head -n 8
if [ $rc = 125 ] && grep -q 'kernel tainted during the test: 0x200 (W)' "$out.runner.log" &&
	grep -q 'exiting 0' "$out.script.log"; then
	result OK runner.splat_detector_catches_taint
else
	echo "# expected status 125 naming the W taint, got $rc"
	result FAIL runner.splat_detector_catches_taint
fi

echo "# bench smoke: the bench command, one round of 1 s tests${load_note:+ ($load_note)}"
if [ "$(cat "$outroot/bench-smoke.rc" 2>/dev/null)" = 0 ]; then
	tail -n 18 "$outroot/bench-smoke.log" | sed 's/^/# /'
	result OK bench.smoke
else
	tail -n 40 "$outroot/bench-smoke.log" | sed 's/^/# /'
	result FAIL bench.smoke
fi

# A test point more or less than the plan: a boot reported too few, or the plan is wrong.
[ "$n" = "$total" ] || echo "# plan: $total test points, reported: $n"
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed = 0 ] && [ "$n" = "$total" ]
