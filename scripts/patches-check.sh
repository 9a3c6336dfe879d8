#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make patches-check: the series in out/patches (make patches) in a kernel tree of its own.
#
#   1. A copy of the pristine pinned source, with the pinned config plus CONFIG_RVIRTIO_PCI=m and
#      CONFIG_RVIRTIO_NET=m once the series defines them, built before the series and again
#      after every patch (incremental builds): the series is bisectable.
#   2. On the last patch: rustfmtcheck, a CLIPPY=1 build and rustdoc, in-tree.
#   3. The in-tree kernel and modules boot in the test VM and pass a smoke subset of the guest
#      tests (PATCHES_SMOKE, default below).
#
# The tree and its build live in $RVIRTIO_CACHE/patches-check/<normal kernel's key>/, apart from
# the normal kernel's cache, which is not touched. A second run reverts the patches it applied
# and builds incrementally from there. Prints KTAP; exits non-zero if anything failed.
set -uo pipefail
. "$(dirname "$0")/env.sh"
top=$RVIRTIO_TOP
patches=${PATCHES:-$top/out/patches}
smoke=${PATCHES_SMOKE:-"skeleton_load_unload driver_override net_basic@rust devlink_health kselftest_recovery"}
jobs=${PATCHES_JOBS:-$(nproc)}

src=$("$top/scripts/kernel.sh" --source) || exit 1
kdir=$("$top/scripts/kernel.sh" normal) || exit 1
dir=$RVIRTIO_CACHE/patches-check/$(basename "$kdir")
tree=$dir/linux build=$dir/build
mkdir -p "$dir"
exec 9> "$dir/.lock"
flock -n 9 || { echo "patches-check: another run holds $dir/.lock" >&2; exit 1; }
mapfile -t series < <(cd "$patches" && ls [0-9][0-9][0-9][0-9]-*.patch | grep -v '^0000-')
[ ${#series[@]} -gt 0 ] || { echo "patches-check: no series in $patches (make patches)" >&2; exit 1; }

n=0 failed=0
result() { # result OK|FAIL NAME [COMMENT]
	n=$((n + 1))
	if [ "$1" = OK ]; then echo "ok $n $2${3:+ # $3}"; else echo "not ok $n $2${3:+ # $3}"; failed=$((failed + 1)); fi
}
log() { echo "# $*"; }
kmake() { nice make -C "$tree" O="$build" "${RVIRTIO_MAKEFLAGS[@]}" "$@"; }

echo "KTAP version 1"
echo "1..$((${#series[@]} + 5))"
start=$(date +%s)

# The tree: a copy of the pristine source, with whatever an earlier run applied reverted (in
# reverse order, from the copies it kept of those patches); a fresh copy if that fails.
mkdir -p "$dir/applied"
if [ -f "$tree/.rvirtio-tree" ]; then
	mapfile -t old < <(cd "$dir/applied" && ls | sort -r)
	for p in "${old[@]}"; do
		if ! (cd "$tree" && git apply -R "$dir/applied/$p"); then
			log "cannot revert $p: starting from a fresh copy"
			rm -f "$tree/.rvirtio-tree"
			break
		fi
		rm -f "$dir/applied/$p"
	done
fi
if [ ! -f "$tree/.rvirtio-tree" ]; then
	rm -rf "$tree" "$dir/applied" && mkdir -p "$dir/applied"
	cp -a "$src" "$tree" && touch "$tree/.rvirtio-tree" || exit 1
fi
if [ ! -f "$build/.config" ] || ! cmp -s "$kdir/.config" "$build/.config.pinned"; then
	mkdir -p "$build"
	cp "$kdir/.config" "$build/.config" && cp "$kdir/.config" "$build/.config.pinned"
fi

# Builds the tree as it is: the pinned config, with our symbols as modules where they exist.
build_step() { # build_step NAME
	local t0 out
	t0=$(date +%s)
	grep -qx 'config RVIRTIO_PCI' "$tree/drivers/virtio/Kconfig" &&
		"$tree/scripts/config" --file "$build/.config" -m RVIRTIO_PCI
	grep -qx 'config RVIRTIO_NET' "$tree/drivers/net/Kconfig" &&
		"$tree/scripts/config" --file "$build/.config" -m RVIRTIO_NET
	# A warning fails the step as an error does.
	if out=$(kmake -s olddefconfig 2>&1 && kmake -s -j"$jobs" 2>&1) &&
		! grep -q 'warning:' <<< "$out"; then
		result OK "build.$1" "$(($(date +%s) - t0)) s"
	else
		echo "$out" | grep -E -A3 'error|warning|Error' | head -n 60 | sed 's/^/# /'
		result FAIL "build.$1" "$(($(date +%s) - t0)) s"
		return 1
	fi
}

build_step "v$KERNEL_VERSION" || { echo "# the pristine tree does not build"; exit 1; }
ok=1
for p in "${series[@]}"; do
	if ! (cd "$tree" && git apply "$patches/$p"); then
		result FAIL "build.${p%.patch}" "does not apply"
		ok=0
		break
	fi
	cp "$patches/$p" "$dir/applied/$p"
	if [ $ok = 0 ]; then
		result FAIL "build.${p%.patch}" "not built: an earlier patch does not build"
		continue
	fi
	build_step "${p%.patch}" || ok=0
done
for sym in RVIRTIO_PCI RVIRTIO_NET; do
	grep -qx "CONFIG_$sym=m" "$build/.config" || { log "the config lacks CONFIG_$sym=m"; ok=0; }
done

# In-tree lints, on the whole series.
lint() { # lint NAME MAKE-ARGS...
	local name=$1 t0 out
	shift
	t0=$(date +%s)
	if [ $ok = 1 ] && out=$(kmake -s -j"$jobs" "$@" 2>&1); then
		result OK "intree.$name" "$(($(date +%s) - t0)) s"
	else
		echo "${out:-the series does not build}" | tail -n 40 | sed 's/^/# /'
		result FAIL "intree.$name"
	fi
}
lint rustfmtcheck rustfmtcheck
lint clippy CLIPPY=1
lint rustdoc rustdoc

# Boot the in-tree kernel and run the smoke tests with the in-tree modules.
smoke_boot() {
	local moddir=$dir/moddir out=$dir/smoke paths=() t
	[ $ok = 1 ] || return 1
	kmake -s modules_install INSTALL_MOD_PATH="$build/modroot" > /dev/null || return 1
	rm -rf "$moddir" && mkdir -p "$moddir"
	ln -s "$build/drivers/virtio/rvirtio_pci/rvirtio_pci.ko" "$moddir/rvirtio_pci.ko"
	ln -s "$build/drivers/net/rvirtio_net/rvirtio_net.ko" "$moddir/rvirtio_net.ko"
	for t in $smoke; do
		case $t in
		*@*) paths+=("$top/selftests/guest/tests/${t%@*}.sh@${t##*@}") ;;
		*) paths+=("$top/selftests/guest/tests/$t.sh") ;;
		esac
	done
	rm -rf "$out"
	"$top/selftests/vm/run-vm" -k "$build" -o "$out" -t 600 -e "RVIRTIO_MODDIR=$moddir" \
		"$top/selftests/guest/run.sh" -t 300 "${paths[@]}" > "$out.ktap" 2> "$out.log"
}
ntests=$(echo $smoke | wc -w)
if smoke_boot && [ "$(grep -c '^ok ' "$dir/smoke.ktap")" = "$ntests" ] &&
	! grep -q '^not ok ' "$dir/smoke.ktap"; then
	grep -E '^(not )?ok ' "$dir/smoke.ktap" | sed 's/^/# /'
	result OK "smoke.boot" "$ntests guest tests on the in-tree kernel and modules"
else
	sed 's/^/# /' "$dir/smoke.ktap" 2>/dev/null | tail -n 40
	tail -n 20 "$dir/smoke.log" 2>/dev/null | sed 's/^/# /'
	result FAIL "smoke.boot"
fi

log "patches-check took $(($(date +%s) - start)) s"
echo "$((n - failed)) passed, $failed failed"
[ $failed = 0 ]
