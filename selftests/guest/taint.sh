#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The runner's taint self-test: taints the kernel (TAINT_WARN, as a WARN would, but without
# its report) and succeeds. The runner must still report the run as failed.
echo 512 > /proc/sys/kernel/tainted
echo "tainted: $(cat /proc/sys/kernel/tainted)"
echo "exiting 0"
