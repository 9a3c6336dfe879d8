# SPDX-License-Identifier: GPL-2.0
#
# rvirtio: out-of-tree build and the project's commands. The module build itself is Kbuild's
# (see Kbuild); this file only finds the kernel tree and the toolchain.
#
#   make              build the modules against $(KDIR)
#   make setup        install the toolchain, build (or reuse) the pinned kernel
#   make run          setup, build, boot the guest and show a NIC on rvirtio-pci (main job)
#   make check        setup, build, run the whole test suite
#   make check-debug  build the debug kernel (KASAN, lockdep, kmemleak) and run the robustness
#                     suite on it
#   make bench        setup, build, benchmark {C, Rust} transport x {C, Rust} net driver in one
#                     boot (BENCH_ROUNDS=5 ...): table, out/bench/bench.json and bench.png
#   make bench-smoke  the same in smoke mode: one round of 1 s tests
#   make bench-scale  setup, build, bind 8, 16, 32 virtio-blk devices to each transport with
#                     3 MSI-X settings (SCALE_ROUNDS=3 ...): bind time, memory and vectors per
#                     device, out/bench-scale/scale.json
#   make profile      guest instructions per frame sent, per configuration and kernel symbol
#                     (QEMU instruction-count plugin): out/profile/profile.txt
#   make bench-recovery  the phases of a NEEDS_RESET recovery, per strategy, median and range
#                     of 20: out/bench-recovery/recovery.txt
#   make kernel       build (or reuse) the pinned kernel; kernel-debug for the debug flavour,
#                     modules-debug the modules for it (out/build-debug)
#   make clippy       build with CLIPPY=1;  make rustdoc;  make rustfmt / rustfmtcheck
#   make compile-fail drivers that misuse the abstractions must not build
#                     (selftests/compile-fail/, scripts/compile-fail.sh)
#   make patches      the upstream patch series, generated from these sources against the pinned
#                     kernel, in out/patches/: checked to apply in order and checkpatch --strict
#                     clean (scripts/patches.py)
#   make patches-check  apply the series to a copy of the pinned source, build it after every
#                     patch, lint it in-tree and boot it (scripts/patches-check.sh; builds a kernel)
#
# KDIR defaults to the cached build of the pinned kernel. Point it at your own Rust-enabled
# build tree instead with `make KDIR=/path/to/linux-build`, passing the toolchain variables that
# tree was built with (LLVM=1, RUSTC=, BINDGEN=, ...).

TOP := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
SCRIPTS := $(TOP)/scripts

ifeq ($(origin KDIR),undefined)
KDIR := $(shell $(SCRIPTS)/kernel.sh --path normal)
# The pinned toolchain, as the cached kernel was built with it (scripts/env.sh).
KBUILD_TOOLCHAIN := $(shell bash -c '. $(SCRIPTS)/env.sh && echo "$${RVIRTIO_MAKEFLAGS[@]}"')
export PATH := /usr/lib/llvm-19/bin:$(PATH)
else
KBUILD_TOOLCHAIN := LLVM=1
endif

# Build output goes to $(BUILD) (Kbuild's MO=), never into the source tree: the modules of
# several kernels (normal, debug, your own) can then live side by side.
BUILD ?= $(TOP)/out/build
KMAKE = $(MAKE) -C $(KDIR) M=$(TOP) MO=$(BUILD) $(KBUILD_TOOLCHAIN)

.PHONY: all modules modules-debug clean setup toolchain kernel kernel-debug run check check-debug clippy \
	rustdoc rustfmt rustfmtcheck compile-fail bench bench-smoke bench-scale profile bench-recovery patches \
	patches-check

all: modules

modules:
	@test -f $(KDIR)/Module.symvers || { \
		echo "No kernel build at $(KDIR): run 'make kernel' (or pass KDIR=)"; exit 1; }
	mkdir -p $(BUILD)
	$(KMAKE) modules

clean:
	rm -rf $(TOP)/out

toolchain:
	$(SCRIPTS)/setup-toolchain.sh

kernel: toolchain
	$(SCRIPTS)/kernel.sh normal

kernel-debug: toolchain
	$(SCRIPTS)/kernel.sh debug

setup: kernel

run: setup
	$(MAKE) -C $(TOP) modules
	$(TOP)/selftests/vm/run-vm -e RVIRTIO_MODDIR=$(BUILD) $(TOP)/scripts/demo.sh

check: setup
	$(MAKE) -C $(TOP) modules
	RVIRTIO_MODDIR=$(BUILD) $(TOP)/selftests/run_tests.sh

# Benchmarks (selftests/bench/bench.sh: its header lists the BENCH_* knobs).
bench: setup
	$(MAKE) -C $(TOP) modules
	RVIRTIO_MODDIR=$(BUILD) $(TOP)/selftests/bench/bench.sh

bench-smoke: setup
	$(MAKE) -C $(TOP) modules
	BENCH_SMOKE=1 RVIRTIO_MODDIR=$(BUILD) $(TOP)/selftests/bench/bench.sh

# The scale benchmark (selftests/bench/scale.sh: its header lists the SCALE_* knobs).
bench-scale: setup
	$(MAKE) -C $(TOP) modules
	RVIRTIO_MODDIR=$(BUILD) $(TOP)/selftests/bench/scale.sh

profile: setup
	$(MAKE) -C $(TOP) modules
	RVIRTIO_MODDIR=$(BUILD) $(TOP)/selftests/bench/profile/profile.sh

bench-recovery: setup
	$(MAKE) -C $(TOP) modules
	RVIRTIO_MODDIR=$(BUILD) $(TOP)/selftests/bench/recovery.sh

# The robustness suite on the debug kernel, with modules built for it in their own directory.
DEBUG_BUILD := $(TOP)/out/build-debug
modules-debug: kernel-debug
	mkdir -p $(DEBUG_BUILD)
	$(MAKE) -C $(shell $(SCRIPTS)/kernel.sh --path debug) M=$(TOP) MO=$(DEBUG_BUILD) \
		$(KBUILD_TOOLCHAIN) modules

check-debug: modules-debug
	RVIRTIO_FLAVOUR=debug KDIR=$(shell $(SCRIPTS)/kernel.sh --path debug) \
		RVIRTIO_MODDIR=$(DEBUG_BUILD) $(TOP)/selftests/run_tests.sh

# The patch series: made from the same sources, never edited by hand.
PATCHES := $(TOP)/out/patches
patches:
	src=$$($(SCRIPTS)/kernel.sh --source) && \
	python3 $(SCRIPTS)/patches.py generate --src "$$src" --out $(PATCHES) && \
	python3 $(SCRIPTS)/patches.py verify --src "$$src" --out $(PATCHES)

patches-check: setup patches
	PATCHES=$(PATCHES) $(SCRIPTS)/patches-check.sh

# Clippy needs the crates recompiled: the sources are touched so that Kbuild reruns them.
clippy:
	touch $(TOP)/rust/rvirtio_pci.rs $(TOP)/selftests/modules/rvirtio_splat.rs
	$(KMAKE) CLIPPY=1 modules

compile-fail: modules
	$(SCRIPTS)/compile-fail.sh $(KMAKE)

rustdoc: modules
	$(SCRIPTS)/rustdoc.sh $(BUILD)

RUSTFMT ?= /usr/bin/rustfmt
RUST_SOURCES = $(shell cd $(TOP) && find rust selftests -name '*.rs' ! -name '*_generated.rs' ! -path '*/target/*')

rustfmt:
	cd $(TOP) && $(RUSTFMT) --edition 2021 $(RUST_SOURCES)

rustfmtcheck:
	cd $(TOP) && $(RUSTFMT) --edition 2021 --check $(RUST_SOURCES)
