#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Compile-fail cases: drivers that misuse the abstractions, which the compiler must refuse.
#
# Each selftests/compile-fail/<case>.rs (but common.rs, which the cases include) names the
# error it expects on a line `//! expect: <text>`. The case is built alone through Kbuild (Kbuild's RVIRTIO_CF), twice:
#   - with `--cfg misuse`: the build must fail, with <text> in its output;
#   - without: the build must succeed, so that the refusal is the misuse's and not a mistake
#     elsewhere in the case.
#
# usage: compile-fail.sh KMAKE...   (the make command for Kbuild: make -C KDIR M= MO= ...)

set -u
top=$(cd "$(dirname "$0")/.." && pwd)
failed=0
n=0
for src in "$top"/selftests/compile-fail/*.rs; do
	[ "$(basename "$src")" = common.rs ] && continue
	case=$(basename "$src" .rs)
	n=$((n + 1))
	expect=$(sed -n 's|^//! expect: ||p' "$src")
	if [ -z "$expect" ]; then
		echo "$case: no '//! expect:' line"
		failed=$((failed + 1))
		continue
	fi
	out=$("$@" -s RVIRTIO_CF="$case" RVIRTIO_CF_FLAGS="--cfg misuse" \
		"selftests/compile-fail/$case.o" 2>&1)
	rc=$?
	if [ $rc = 0 ]; then
		echo "$case: built with the misuse; expected: $expect"
		failed=$((failed + 1))
		continue
	fi
	if ! grep -qF -- "$expect" <<<"$out"; then
		echo "$case: refused, but not with '$expect':"
		grep -E '^error' <<<"$out" | head -n 5
		failed=$((failed + 1))
		continue
	fi
	out=$("$@" -s RVIRTIO_CF="$case" RVIRTIO_CF_FLAGS= "selftests/compile-fail/$case.o" 2>&1)
	if [ $? != 0 ]; then
		echo "$case: does not build without the misuse either:"
		grep -E '^error' -A 3 <<<"$out" | head -n 12
		failed=$((failed + 1))
		continue
	fi
	echo "$case: refused ($expect); builds without the misuse"
done
echo "compile-fail: $((n - failed))/$n cases as expected"
[ $failed = 0 ] && [ $n -gt 0 ]
