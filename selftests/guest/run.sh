#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# In the guest: run test scripts and print KTAP, like kselftest's runner.
#
#   run.sh [-t SECS] TEST...
#
# Each TEST is a script path; it passes with exit 0, is skipped with 4, fails otherwise or when
# it runs longer than SECS (default 300). Its output becomes "# " diagnostic lines. A path
# ending in "@c" or "@rust" runs the script with rvirtio_net on that transport
# (RVNET_TRANSPORT: the C virtio-pci or rvirtio-pci), named "NAME[virtio-pci]" or
# "NAME[rvirtio-pci]": the rvirtio_net test matrix.
timeout=300
if [ "${1:-}" = -t ]; then timeout=$2; shift 2; fi

echo "KTAP version 1"
echo "1..$#"
n=0 failed=0
for t in "$@"; do
	n=$((n + 1))
	transport=
	case $t in *@c | *@rust) transport=${t##*@} t=${t%@*} ;; esac
	name=$(basename "$t" .sh)
	case $transport in
	c) name="$name[virtio-pci]" ;;
	rust) name="$name[rvirtio-pci]" ;;
	esac
	echo "rvirtio: test $name start" > /dev/kmsg
	start=$(date +%s%N)
	RVNET_TRANSPORT=${transport:-${RVNET_TRANSPORT:-c}} timeout -k 5 "$timeout" bash "$t" 2>&1 < /dev/null |
		sed -u "s/^/# /"
	rc=${PIPESTATUS[0]}
	ms=$((($(date +%s%N) - start) / 1000000))
	echo "rvirtio: test $name end: $rc" > /dev/kmsg
	case $rc in
	0) echo "ok $n $name # time=${ms}ms" ;;
	4) echo "ok $n $name # SKIP" ;;
	124) echo "# timed out after ${timeout}s"; echo "not ok $n $name"; failed=$((failed + 1)) ;;
	*) echo "not ok $n $name # exit=$rc"; failed=$((failed + 1)) ;;
	esac
done
[ $failed = 0 ]
