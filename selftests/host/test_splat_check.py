# SPDX-License-Identifier: GPL-2.0
"""Unit tests of the VM runner's splat detector (selftests/vm/splat-check)."""

import importlib.machinery
import importlib.util
import os
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "..", "vm", "splat-check")
loader = importlib.machinery.SourceFileLoader("splat_check", PATH)
spec = importlib.util.spec_from_loader("splat_check", loader)
splat_check = importlib.util.module_from_spec(spec)
loader.exec_module(splat_check)

KNOWN = splat_check.load_known(os.path.join(HERE, "..", "vm", "known-splats"))
START = "[    2.000000] rvirtio: guest script start: /x/test.sh\n"

KASAN_EARLY = """\
[    0.005000] ==================================================================
[    0.005000] BUG: KASAN: wild-memory-access in do_raw_spin_lock+0x1/0x2
[    0.005000] Call Trace:
[    0.005000]  handle_edge_irq+0x1/0x2
[    0.005000]  identify_cpu+0x1/0x2
[    0.005000] ==================================================================
"""

WARN = """\
[    3.000000] ------------[ cut here ]------------
[    3.000000] WARNING: CPU: 0 PID: 1 at foo.c:1 bar+0x1/0x2
[    3.000000] Call Trace:
[    3.000000] ---[ end trace 0000000000000000 ]---
"""


def check(text):
    return splat_check.find_splats(text.splitlines(keepends=True), KNOWN)


class SplatCheckTest(unittest.TestCase):
    def test_clean_log_passes(self):
        bad, excused = check("[    0.1] Linux version 7.2.13\n" + START + "[ 3.0] eth0: up\n")
        self.assertEqual(bad, [])
        self.assertEqual(excused, [])

    def test_warning_after_start_fails(self):
        bad, _ = check(START + WARN)
        self.assertTrue(any("WARNING:" in l for l in bad))
        self.assertTrue(any("Call Trace:" in l for l in bad))

    def test_known_early_splat_is_excused_with_its_name(self):
        bad, excused = check(KASAN_EARLY + START)
        self.assertEqual(bad, [])
        self.assertEqual(excused, ["known early-boot splat 'kasan-early-edge-irq'"])

    def test_known_signature_after_start_fails(self):
        bad, _ = check(START + KASAN_EARLY)
        self.assertTrue(any("KASAN" in l for l in bad))

    def test_unknown_early_splat_fails(self):
        bad, _ = check(WARN + START)
        self.assertTrue(any("WARNING:" in l for l in bad))

    def test_early_splat_without_start_marker_fails(self):
        bad, _ = check("[ 0.1] BUG: kernel NULL pointer dereference, address: 0\n")
        self.assertEqual(len(bad), 1)

    def test_known_header_with_other_context_fails(self):
        text = KASAN_EARLY.replace("handle_edge_irq", "virtnet_poll")
        bad, excused = check(text + START)
        self.assertEqual(excused, [])
        self.assertTrue(bad)

    def test_kmemleak_report_fails(self):
        bad, _ = check('unreferenced object 0xffff888003a4c000 (size 64):\n  comm "insmod"\n')
        self.assertEqual(len(bad), 1)

    def test_oops_and_panic_fail(self):
        bad, _ = check(START + "[ 5.0] Oops: general protection fault [#1]\n"
                       "[ 5.1] Kernel panic - not syncing: Fatal exception\n")
        self.assertEqual(len(bad), 2)

    def test_tx_watchdog_fails(self):
        bad, _ = check(START + "[ 9.0] virtio_net virtio4 eth0: NETDEV WATCHDOG: CPU: 0: "
                       "transmit queue 0 timed out 5784 ms\n")
        self.assertEqual(len(bad), 1)

    def test_bad_ring_fails(self):
        for msg in ("output.0:id 300 out of range", "input.0:id 7 is not a head!"):
            bad, _ = check(START + f"[ 9.0] virtio_net virtio3: {msg}\n")
            self.assertEqual(len(bad), 1, msg)

    def test_notification_before_driver_ok_fails(self):
        bad, _ = check(START + "[ 9.0] rvirtio-pci 0000:00:08.0: queue 0 notified before "
                       "DRIVER_OK was set (virtio 1.2, 3.1.1)\n")
        self.assertEqual(len(bad), 1)

    def test_dropped_console_messages_fail(self):
        bad, _ = check(START + "[ 9.0] ** 12 printk messages dropped **\n")
        self.assertEqual(len(bad), 1)

    def test_taint_during_the_test_fails(self):
        bad, _ = check(START + "[ 2.1] rvirtio: taint at script start: 0\n"
                       "[ 9.0] rvirtio: taint at script end: 12800\n")
        # 12800 = W (512) | O (4096) | E (8192): W is new and unexpected.
        self.assertEqual(bad, ["kernel tainted during the test: 0x200 (W)"])

    def test_taint_by_our_modules_passes(self):
        bad, _ = check(START + "[ 2.1] rvirtio: taint at script start: 0\n"
                       "[ 9.0] rvirtio: taint at script end: 12288\n")
        self.assertEqual(bad, [])

    def test_taint_before_the_test_is_not_blamed_on_it(self):
        bad, _ = check(START + "[ 2.1] rvirtio: taint at script start: 512\n"
                       "[ 9.0] rvirtio: taint at script end: 512\n")
        self.assertEqual(bad, [])

    def test_expected_watchdog_is_excused_until_its_test_ends(self):
        wd = "[ 9.0] virtio_net virtio4 eth0: NETDEV WATCHDOG: CPU: 0: transmit queue 0 timed out 5 ms\n"
        text = (START + "[ 3.0] rvirtio: test t1 start\n"
                "[ 3.1] rvirtio: expect splat: NETDEV WATCHDOG: .* transmit queue [0-9]+ timed out\n"
                + wd + "[ 9.5] rvirtio: test t1 end: 0\n" + wd)
        bad, excused = check(text)
        self.assertEqual(len(excused), 1)
        self.assertEqual(len(bad), 1, "the watchdog after the test's end must fail")

    def test_expectation_excuses_only_its_pattern(self):
        text = (START + "[ 3.1] rvirtio: expect splat: NETDEV WATCHDOG:\n" + WARN)
        bad, _ = check(text)
        self.assertTrue(any("WARNING:" in l for l in bad))

    def test_expectation_before_the_script_is_ignored(self):
        wd = "[ 0.5] eth0: NETDEV WATCHDOG: CPU: 0: transmit queue 0 timed out 5 ms\n"
        bad, _ = check("[ 0.4] rvirtio: expect splat: NETDEV WATCHDOG\n" + wd + START)
        self.assertEqual(len(bad), 1)


if __name__ == "__main__":
    unittest.main()
