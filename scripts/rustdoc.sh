#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the rustdoc of our crates, with the exact flags Kbuild compiled them with.
#
#   scripts/rustdoc.sh [BUILD [OUTDIR]]   (after `make`; defaults: out/build, out/doc)
#
# Kbuild has no rustdoc target for external modules, so this takes each crate's compile
# command from its .cmd file, runs rustdoc instead of rustc, and documents private items too
# (everything in a module crate is private). Warnings (broken intra-doc links, ...) fail it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/env.sh"
build=${1:-$top/out/build}
out=${2:-$top/out/doc}
mkdir -p "$out"
cd "$build"
for cmd in rust/.rvirtio_pci.o.cmd rust/.rvirtio_net.o.cmd; do
	[ -f "$cmd" ] || { echo "rustdoc.sh: $cmd missing: run make first" >&2; exit 1; }
	line=$(sed -n 's/^savedcmd_[^ ]* := //p' "$cmd")
	# Drop what only rustc understands (outputs) and swap the tool.
	line=$(echo "$line" | sed -E 's/--emit=[^ ]+//g; s/--out-dir [^ ]+//; s#(^| )[^ ]*/(rustc|clippy-driver) #\1/usr/bin/rustdoc #;
		s/-Zbinary_dep_depinfo=y//; s/-Cembed-bitcode=n//; s/-Clto=n//;
		s/--remap-path-(prefix|scope)=[^ ]+//g')
	echo "  RUSTDOC $cmd"
	(export RUSTC_BOOTSTRAP=1 RVIRTIO_BINDINGS_DIR="$build/rust/bindings"; eval "$line -o '$out' --document-private-items -Drustdoc::broken_intra_doc_links -Dwarnings")
done
echo "rustdoc.sh: documentation in $out"
