#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Guest-side helpers of the benchmark (selftests/bench/guest.sh), timed to the millisecond.

    bench_tool.py probe BDF PCI_DRIVER VIRTIO_DRIVER MAC ADDR/LEN TARGET
    bench_tool.py inject-c BDF TARGET TIMEOUT_S
    bench_tool.py recover DEBUGFS_DIR QUEUE TARGET MAC ADDR/LEN
    bench_tool.py rr-server ADDR PORT
    bench_tool.py rr-client ADDR PORT SECONDS

probe: binds the (unbound) PCI device BDF to PCI_DRIVER with driver_override, its virtio device
to VIRTIO_DRIVER (the virtio bus does not autoprobe meanwhile, so that the driver asked for is
the one that binds, whichever it is), waits for the interface with MAC, gives it ADDR, sets it
up and pings TARGET every 2 ms. Prints "MS IFNAME VIRTIO_DEV BOUND_MS": milliseconds from the
probe to the first echo answered, and to the virtio driver bound.

inject-c: makes QEMU raise DEVICE_NEEDS_RESET on a device of the C virtio-pci transport, which
has no injection knob: writes 0 to queue_enable in the common configuration (through the BAR's
sysfs resource file), an invalid value that QEMU answers with virtio_error(). Checks that the
device status shows NEEDS_RESET, then pings TARGET like recovery_wait.py. Prints the
milliseconds to the first echo answered, or "never" if none within TIMEOUT_S.

recover: recovery_wait.py's ping measurement on rvirtio-pci (injection through DEBUGFS_DIR, then
pings to TARGET until one is answered), while a watcher gives ADDR back to the interface with
MAC whenever it is re-created (the re-probe strategy), as a network manager would. Prints the
milliseconds, and "readdressed" on stderr if the watcher had to act.

rr-server/rr-client: TCP request/response with one-byte messages (netperf's TCP_RR);
the client prints transactions per second.
"""

import ctypes
import glob
import mmap
import os
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "guest"))
import recovery_wait  # noqa: E402  (its ICMP echo loop)

AUTOPROBE = "/sys/bus/virtio/drivers_autoprobe"
NEEDS_RESET = 0x40


def write(path, value):
    with open(path, "w") as f:
        f.write(value)


def wait(cond, timeout, step=0.001):
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)


def pci_driver(pci):
    try:
        return os.path.basename(os.readlink(os.path.join(pci, "driver")))
    except OSError:
        return None


def netdev_by_mac(mac):
    for d in glob.glob("/sys/class/net/*"):
        try:
            with open(os.path.join(d, "address")) as f:
                if f.read().strip() == mac:
                    return os.path.basename(d)
        except OSError:
            pass
    return None


def ping(target, t0, timeout):
    recovery_wait.TIMEOUT = timeout
    return recovery_wait.ping_until_answered(target, t0)


def probe(bdf, pci_drv, virtio_drv, mac, addr, target):
    pci = f"/sys/bus/pci/devices/{bdf}"
    if pci_driver(pci):
        raise SystemExit(f"{bdf} is still bound to {pci_driver(pci)}")
    write(f"{pci}/driver_override", pci_drv)
    write(AUTOPROBE, "0")
    try:
        t0 = time.monotonic()
        try:
            write("/sys/bus/pci/drivers_probe", bdf)
        except OSError:
            pass  # judged by the driver bound below
        if pci_driver(pci) != pci_drv:
            raise SystemExit(f"{bdf} not bound to {pci_drv} (driver: {pci_driver(pci)})")
        vdevs = wait(lambda: glob.glob(f"{pci}/virtio*"), 5)
        if not vdevs:
            raise SystemExit(f"no virtio device under {bdf}")
        vdev = os.path.basename(vdevs[0])
        write(f"/sys/bus/virtio/drivers/{virtio_drv}/bind", vdev)
        bound = time.monotonic()
    finally:
        write(AUTOPROBE, "1")
    dev = wait(lambda: netdev_by_mac(mac), 10)
    if not dev:
        raise SystemExit(f"no interface with {mac} on {vdev}")
    subprocess.run(["ip", "addr", "add", addr, "dev", dev], check=True)
    subprocess.run(["ip", "link", "set", dev, "up"], check=True)
    if not ping(target, t0, 10.0):
        raise SystemExit(f"no ping answered through {dev} within 10 s")
    now = time.monotonic()
    print(f"{(now - t0) * 1000:.1f} {dev} {vdev} {(bound - t0) * 1000:.1f}")


def common_cfg(pci):
    """(BAR, offset) of the virtio common configuration, from the PCI capabilities."""
    with open(os.path.join(pci, "config"), "rb") as f:
        cfg = f.read(256)
    ptr = cfg[0x34] & ~3
    seen = set()
    while ptr and ptr not in seen and ptr + 16 <= len(cfg):
        seen.add(ptr)
        # virtio_pci_cap: vndr, next, len, cfg_type, bar, id, pad[2], offset, length
        if cfg[ptr] == 0x09 and cfg[ptr + 3] == 1:
            return cfg[ptr + 4], struct.unpack_from("<I", cfg, ptr + 8)[0]
        ptr = cfg[ptr + 1] & ~3
    raise SystemExit("no virtio common configuration capability")


def inject_c(bdf, target, timeout):
    pci = f"/sys/bus/pci/devices/{bdf}"
    bar, off = common_cfg(pci)
    page = off & ~(mmap.PAGESIZE - 1)
    fd = os.open(f"{pci}/resource{bar}", os.O_RDWR | os.O_SYNC)
    try:
        mm = mmap.mmap(fd, mmap.PAGESIZE, offset=page)
    finally:
        os.close(fd)
    base = off - page
    status = ctypes.c_uint8.from_buffer(mm, base + 20)  # device_status
    queue_enable = ctypes.c_uint16.from_buffer(mm, base + 28)
    t0 = time.monotonic()
    queue_enable.value = 0
    seen = wait(lambda: status.value & NEEDS_RESET, 1.0)
    st = status.value
    del status, queue_enable
    mm.close()
    if not seen:
        raise SystemExit(f"the device did not set NEEDS_RESET (status {st:#x})")
    if ping(target, t0, timeout):
        print(f"{(time.monotonic() - t0) * 1000:.1f}")
    else:
        print("never")


def ifindex(dev):
    try:
        with open(f"/sys/class/net/{dev}/ifindex") as f:
            return int(f.read())
    except OSError:
        return None


def recover(debugfs, queue, target, mac, addr):
    dev = netdev_by_mac(mac)
    first = ifindex(dev) if dev else None
    stop = threading.Event()
    acted = []

    def watch():
        # Cheap while nothing happens (one sysfs read per 5 ms): the watcher must not slow
        # down the recovery it watches.
        known, d = first, dev
        while not stop.wait(0.005):
            if d and ifindex(d) == known:
                continue
            d = netdev_by_mac(mac)
            idx = ifindex(d) if d else None
            if idx is None or idx == known:
                continue
            subprocess.run(["ip", "addr", "add", addr, "dev", d], stderr=subprocess.DEVNULL)
            subprocess.run(["ip", "link", "set", d, "up"])
            known = idx
            acted.append(d)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    try:
        rc = recovery_wait.main(["recovery_wait.py", debugfs, queue, "ping", target])
    finally:
        stop.set()
        t.join()
    if acted:
        print(f"readdressed {' '.join(acted)}", file=sys.stderr)
    if rc:
        raise SystemExit(rc)


def rr_server(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1)
    c, _ = s.accept()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        b = c.recv(1)
        if not b:
            break
        c.sendall(b)


def rr_client(addr, port, secs):
    end = time.monotonic() + 5
    while True:
        try:
            s = socket.create_connection((addr, port), timeout=5)
            break
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    n = 0
    t0 = time.monotonic()
    end = t0 + secs
    while True:
        s.sendall(b"x")
        if not s.recv(1):
            raise SystemExit("server closed the connection")
        n += 1
        now = time.monotonic()
        if now >= end:
            break
    s.close()
    print(f"{n / (now - t0):.1f}")


def main(argv):
    cmds = {
        "probe": (probe, 6, (str, str, str, str, str, str)),
        "inject-c": (inject_c, 3, (str, str, float)),
        "recover": (recover, 5, (str, str, str, str, str)),
        "rr-server": (rr_server, 2, (str, int)),
        "rr-client": (rr_client, 3, (str, int, float)),
    }
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 != cmds[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    fn, _, types = cmds[argv[1]]
    fn(*(t(a) for t, a in zip(types, argv[2:])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
