#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# In the guest, run by selftests/bench/bench.sh through run-vm: the benchmark matrix. The NIC
# under test (NIC0) is bound in turn to each configuration, transport x driver, and measured
# against its peer (NIC1, on the C drivers, in a network namespace). Each round runs every
# configuration once; the order rotates by one place from round to round, so that over as many
# rounds as configurations each one runs once in each place, and a drift of the host within a
# round hits none of them more than the others. The C/C configuration runs twice per round (c_c
# and c_c2) to show the noise.
#
# Raw samples go to $RVIRTIO_OUT/bench-raw.tsv, one per line: ROUND CONFIG METRIC VALUE NOTE,
# VALUE being a number, n/a, never or failed; facts about the run to bench-meta.tsv. The host
# (report.py) turns them into bench.json and the table.
#
# Environment: BENCH_ROUNDS (5), BENCH_DURATION (seconds per timed test, 5), BENCH_QUEUES
# (queue pairs QEMU gave the NICs, 1), BENCH_PING_COUNT (500), BENCH_WARMUP (1: a short round 0
# first, not reported), BENCH_PERF (0; 1: profile the guest with perf during pktgen, TCP to the
# peer and request/response, reports in $RVIRTIO_OUT/perf/), RVIRTIO_MODDIR.
. "$RVIRTIO_TOP/selftests/guest/lib.sh"
. "$RVIRTIO_TOP/selftests/bench/guest-lib.sh"

rounds=${BENCH_ROUNDS:-5}
secs=${BENCH_DURATION:-5}
queues=${BENCH_QUEUES:-1}
ping_count=${BENCH_PING_COUNT:-500}
warmup=${BENCH_WARMUP:-1}
raw=$RVIRTIO_OUT/bench-raw.tsv
meta=$RVIRTIO_OUT/bench-meta.tsv
RECOVERY_TIMEOUT=2 # seconds a C-transport NIC gets to come back after NEEDS_RESET

metrics=(probe_ms tx_kpps rx_kpps tcp_tx_mbps tcp_rx_mbps tcp_mq_mbps cpu_s_per_gb ping_rtt_us
	tcp_rr_tps recovery_ms pktgen_irq_kpkt tcp_tx_irq_kpkt tcp_rx_irq_kpkt rr_irq_kpkt)

record() { # record ROUND CONFIG METRIC VALUE [NOTE]
	local note=${5:-}
	note=${note//[$'\t\n']/ }
	note=${note%"${note##*[![:space:]]}"}
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${note:0:300}" >> "$raw"
}

now_ns() { date +%s%N; }

# Runs "$2..." (a command or function), with the whole guest profiled by perf (cpu-clock: there
# is no PMU under TCG) if BENCH_PERF=1; the report, by symbol, goes to $RVIRTIO_OUT/perf/$1.txt.
profiled() {
	local name=$1 data=/tmp/perf-$1.data pid rc=0
	shift
	if [ "${BENCH_PERF:-0}" != 1 ] || [ "$round" = 0 ]; then
		"$@"
		return
	fi
	perf record -q -e cpu-clock -F 2000 -a -g -o "$data" > /dev/null 2>&1 &
	pid=$!
	sleep 0.5
	"$@" || rc=$?
	kill -INT "$pid" 2> /dev/null
	wait "$pid" 2> /dev/null
	mkdir -p "$RVIRTIO_OUT/perf"
	perf report -i "$data" --stdio --no-children --sort dso,sym --percent-limit 0.3 -g none \
		2> /dev/null | grep -v '^$' | head -n 60 > "$RVIRTIO_OUT/perf/$name.txt"
	rm -f "$data"
	return $rc
}

# 64-byte UDP frames (60 bytes + FCS) to the peer with pktgen, one thread on CPU 0, for $2
# seconds; prints "TX_KPPS RX_KPPS": pktgen's own rate, and the peer's rx_packets delta.
pps_test() {
	local dev=$1 secs=$2 t=/proc/net/pktgen/kpktgend_0 d=/proc/net/pktgen/$1 rx0 rx1 t0 t1 pid pps
	pktgen_prepare "$dev" 0 || return 1
	rx0=$(peer_stat rx_packets)
	t0=$(now_ns)
	echo start > /proc/net/pktgen/pgctrl &
	pid=$!
	sleep "$secs"
	echo stop > /proc/net/pktgen/pgctrl
	wait "$pid"
	t1=$(now_ns)
	sleep 0.5 # frames still on their way
	rx1=$(peer_stat rx_packets)
	pps=$(grep -o '[0-9]\+pps' "$d" | head -n 1)
	echo rem_device_all > $t
	[ -n "$pps" ] || return 1
	awk -v p="${pps%pps}" -v n=$((rx1 - rx0)) -v ns=$((t1 - t0)) \
		'BEGIN { printf "%.2f %.2f\n", p / 1000, n / (ns / 1e9) / 1000 }'
}

# Busy CPU time of the guest so far, all CPUs, in clock ticks (user nice system irq softirq
# steal of /proc/stat).
cpu_busy() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

# Records METRIC ($3): interrupts per 1000 packets between two samples of irq_sample ($4, $5);
# the note has the counts, and the interrupts of each vector that took some.
record_irqs() { # record_irqs ROUND CONFIG METRIC BEFORE AFTER
	local p t note
	IFS=$'\t' read -r p t note <<< "$(irq_delta "$4" "$5")"
	if [ "$p" -le 0 ]; then
		record "$1" "$2" "$3" failed "no packets"
		return
	fi
	record "$1" "$2" "$3" "$(awk -v t="$t" -v p="$p" 'BEGIN { printf "%.1f", t * 1000 / p }')" \
		"$t interrupts, $p packets ($note)"
}

rr_test() {
	local srv out
	ip netns exec "$PEER_NS" timeout $((secs + 30)) python3 "$tool" rr-server 10.99.0.2 $RR_PORT &
	srv=$!
	wait_for 5 iperf_listening_on $RR_PORT || { kill "$srv"; return 1; }
	out=$(timeout $((secs + 25)) python3 "$tool" rr-client 10.99.0.2 $RR_PORT "$secs") ||
		{ kill "$srv"; return 1; }
	wait "$srv"
	echo "$out"
}

# Average ping RTT in microseconds, $ping_count echoes 2 ms apart.
ping_test() {
	local out
	out=$(ping -q -n -c "$ping_count" -i 0.002 -W 2 10.99.0.2 2>&1) || return 1
	echo "$out" | sed -n 's|^rtt [^=]*= [0-9.]*/\([0-9.]*\)/.*|\1|p' | awk '{ printf "%.1f\n", $1 * 1000 }'
}

# One configuration in one round: bind, measure, break and recover, unbind.
run_slot() {
	local round=$1 cfg=$2 pci=${cfg_pci[$2]} net=${cfg_net[$2]} drv m out v dev summary=
	local c0 c1 s0 bytes bps
	if [ "$net" = rust ]; then
		drv=$rust_drv
		if [ -z "$drv" ]; then
			for m in "${metrics[@]}"; do record "$round" "$cfg" "$m" n/a "rvirtio_net.ko not built"; done
			echo "round $round $cfg: n/a (no rvirtio_net.ko)"
			return
		fi
	else
		drv=virtio_net
	fi
	pci_unbind "$NIC0"
	if ! out=$(python3 "$tool" probe "$NIC0" "$pci" "$drv" "$NIC0_MAC" 10.99.0.1/24 10.99.0.2 2>&1); then
		echo "round $round $cfg: probe failed: $out"
		for m in "${metrics[@]}"; do record "$round" "$cfg" "$m" failed "probe failed"; done
		pci_unbind "$NIC0"
		return
	fi
	read -r v dev _ _ <<< "$out"
	record "$round" "$cfg" probe_ms "$v" "$out"
	# A short recovery window: each measured recovery is the first of its window (no backoff).
	[ "$pci" = rvirtio-pci ] &&
		devlink dev param set "pci/$NIC0" name recovery_window_ms value 200 cmode runtime
	summary+=" probe ${v}ms"
	# One queue pair for the single-flow tests, whatever the driver's default.
	[ "$queues" -gt 1 ] && ethtool -L "$dev" combined 1 > /dev/null 2>&1
	sleep 0.5

	s0=$(irq_sample "$dev")
	if out=$(profiled "$cfg-pktgen" pps_test "$dev" "$secs"); then
		record_irqs "$round" "$cfg" pktgen_irq_kpkt "$s0" "$(irq_sample "$dev")"
		read -r v m <<< "$out"
		record "$round" "$cfg" tx_kpps "$v"
		record "$round" "$cfg" rx_kpps "$m"
		summary+=", pktgen tx ${v} rx ${m} kpps"
	else
		record "$round" "$cfg" tx_kpps failed "pktgen"
		record "$round" "$cfg" rx_kpps failed "pktgen"
		record "$round" "$cfg" pktgen_irq_kpkt failed "pktgen"
	fi

	c0=$(cpu_busy)
	s0=$(irq_sample "$dev")
	if out=$(profiled "$cfg-tcp-tx" iperf_json "$secs" -t "$secs"); then
		c1=$(cpu_busy)
		record_irqs "$round" "$cfg" tcp_tx_irq_kpkt "$s0" "$(irq_sample "$dev")"
		read -r bps bytes <<< "$out"
		v=$(awk -v b="$bps" 'BEGIN { printf "%.1f", b / 1e6 }')
		record "$round" "$cfg" tcp_tx_mbps "$v"
		m=$(awk -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v by="$bytes" \
			'BEGIN { printf "%.2f", (c / hz) / (by / 1e9) }')
		record "$round" "$cfg" cpu_s_per_gb "$m" "$((c1 - c0)) ticks, $bytes bytes"
		summary+=", tcp tx ${v} Mbit/s (${m} CPU s/GB)"
	else
		record "$round" "$cfg" tcp_tx_mbps failed "$out"
		record "$round" "$cfg" cpu_s_per_gb failed "iperf3"
		record "$round" "$cfg" tcp_tx_irq_kpkt failed "iperf3"
	fi
	s0=$(irq_sample "$dev")
	if out=$(iperf_json "$secs" -t "$secs" -R); then
		record_irqs "$round" "$cfg" tcp_rx_irq_kpkt "$s0" "$(irq_sample "$dev")"
		read -r bps bytes <<< "$out"
		v=$(awk -v b="$bps" 'BEGIN { printf "%.1f", b / 1e6 }')
		record "$round" "$cfg" tcp_rx_mbps "$v"
		summary+=", rx ${v}"
	else
		record "$round" "$cfg" tcp_rx_mbps failed "$out"
		record "$round" "$cfg" tcp_rx_irq_kpkt failed "iperf3"
	fi
	if [ "$queues" -le 1 ]; then
		record "$round" "$cfg" tcp_mq_mbps n/a "one queue pair (BENCH_QUEUES=1)"
	elif ! out=$(ethtool -L "$dev" combined "$queues" 2>&1); then
		record "$round" "$cfg" tcp_mq_mbps n/a "ethtool -L combined $queues: $out"
	else
		if out=$(iperf_json "$secs" -t "$secs" -P "$queues"); then
			read -r bps bytes <<< "$out"
			v=$(awk -v b="$bps" 'BEGIN { printf "%.1f", b / 1e6 }')
			record "$round" "$cfg" tcp_mq_mbps "$v"
			summary+=", ${queues}q ${v}"
		else
			record "$round" "$cfg" tcp_mq_mbps failed "$out"
		fi
		ethtool -L "$dev" combined 1 > /dev/null 2>&1
	fi

	if v=$(ping_test) && [ -n "$v" ]; then
		record "$round" "$cfg" ping_rtt_us "$v"
		summary+=", ping ${v}us"
	else
		record "$round" "$cfg" ping_rtt_us failed "ping"
	fi
	s0=$(irq_sample "$dev")
	if v=$(profiled "$cfg-rr" rr_test) && [ -n "$v" ]; then
		record "$round" "$cfg" tcp_rr_tps "$v"
		record_irqs "$round" "$cfg" rr_irq_kpkt "$s0" "$(irq_sample "$dev")"
		summary+=", rr ${v}/s"
	else
		record "$round" "$cfg" tcp_rr_tps failed "rr"
		record "$round" "$cfg" rr_irq_kpkt failed "rr"
	fi

	# Last: the device breaks. rvirtio-pci recovers it (its debugfs injection, timed by
	# recovery_wait.py as in the reset tests; a re-probed interface gets its address back);
	# the C transport ignores NEEDS_RESET, so its NIC gets a deadline.
	if [ "$pci" = rvirtio-pci ]; then
		local err=/tmp/bench-recover.err
		if v=$(python3 "$tool" recover "$(rvirtio_debugfs "$NIC0")" $((2 * queues)) 10.99.0.2 "$NIC0_MAC" \
			10.99.0.1/24 2> $err); then
			record "$round" "$cfg" recovery_ms "$v" "debugfs inject, control queue, $(recovery_field "$NIC0" last_strategy) $(cat $err)"
		else
			v="failed: $(cat $err)"
			record "$round" "$cfg" recovery_ms failed "$(cat $err)"
		fi
	else
		if v=$(python3 "$tool" inject-c "$NIC0" 10.99.0.2 "$RECOVERY_TIMEOUT" 2>&1); then
			record "$round" "$cfg" recovery_ms "$v" "queue_enable=0, NEEDS_RESET seen; timeout ${RECOVERY_TIMEOUT}s"
		else
			record "$round" "$cfg" recovery_ms failed "$v"
		fi
	fi
	summary+=", recovery ${v}"
	pci_unbind "$NIC0"
	echo "round $round $cfg:$summary"
}

trap bench_cleanup EXIT

: > "$raw"
must kmod_load virtio_net
must kmod_load pktgen
must rvirtio_load rvirtio_pci
rust_drv=$(rust_net_driver) || fail "rvirtio_net.ko is built but its driver did not register"
wait_for 5 netdev_by_mac "$NIC1_MAC" || fail "no peer interface"
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface under test"
netns_setup > /dev/null || fail "namespace setup failed"
PEER=$(ip -n "$PEER_NS" -o link | awk -v m="$NIC1_MAC" '$0 ~ m { sub(/:$/, "", $2); sub(/@.*/, "", $2); print $2 }')
[ -n "$PEER" ] || fail "no peer interface in $PEER_NS"
if [ "$queues" -gt 1 ]; then
	ip netns exec "$PEER_NS" ethtool -L "$PEER" combined "$queues" ||
		fail "peer: ethtool -L combined $queues"
fi

{
	printf 'kernel\t%s\n' "$(uname -r)"
	printf 'accel\t%s\n' "$RVIRTIO_ACCEL"
	printf 'vcpus\t%s\n' "$(nproc)"
	printf 'rounds\t%s\n' "$rounds"
	printf 'duration_s\t%s\n' "$secs"
	printf 'queues\t%s\n' "$queues"
	printf 'ping_count\t%s\n' "$ping_count"
	printf 'recovery_timeout_s\t%s\n' "$RECOVERY_TIMEOUT"
	printf 'rust_net_driver\t%s\n' "${rust_drv:-}"
	printf 'order\t%s\n' "${configs[*]}, rotated by one each round"
	printf 'warmup\t%s\n' "$warmup"
} > "$meta"
echo "bench: $rounds rounds of ${configs[*]}, ${secs} s tests, $queues queue pairs," \
	"rvirtio_net: ${rust_drv:-not built}"

start=$(now_ns)
if [ "$warmup" = 1 ]; then
	# Round 0, short and left out of the results: under TCG the first run of any code path
	# pays for its translation, and the first probe of a driver would look slow.
	saved="$secs $ping_count"
	secs=1 ping_count=50
	for cfg in "${configs[@]}"; do
		run_slot 0 "$cfg"
	done
	read -r secs ping_count <<< "$saved"
fi
n=${#configs[@]}
for ((r = 1; r <= rounds; r++)); do
	for ((i = 0; i < n; i++)); do
		run_slot "$r" "${configs[(i + r - 1) % n]}"
	done
done
printf 'guest_runtime_s\t%s\n' $((($(now_ns) - start) / 1000000000)) >> "$meta"
echo "bench: done in $((($(now_ns) - start) / 1000000000)) s"
