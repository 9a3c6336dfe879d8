#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""O_DIRECT I/O without pause on a disk, for the in-flight recovery tests.

    blk_io.py write DISK OFFSET CHUNKS CHUNK PATTERN_PREFIX LOG STOP
        Writes chunk after chunk of the region at OFFSET, pass after pass; pass P writes the
        content of PATTERN_PREFIX.(P % 3). Logs "TIME PASS CHUNK" after each acknowledged write,
        "TIME error PASS CHUNK ERROR" after a failed one.
    blk_io.py read DISK OFFSET CHUNKS CHUNK PATTERN LOG STOP
        Reads the chunks of the region at OFFSET in turn and compares each with PATTERN; logs
        "TIME error ..." or "TIME differs ..." for each failure, nothing else.

Both run until the file STOP exists. One process issues one request at a time, as a
synchronous writer does, with no process started per request: the disk always has work.
"""

import mmap
import os
import sys
import time


def aligned(size):
    # Anonymous mappings are page-aligned, as O_DIRECT wants.
    return mmap.mmap(-1, size)


def main():
    mode, disk, offset, chunks, chunk, pattern, log, stop = sys.argv[1:9]
    offset, chunks, chunk = int(offset), int(chunks), int(chunk)
    fd = os.open(disk, (os.O_WRONLY if mode == "write" else os.O_RDONLY) | os.O_DIRECT)
    buf = aligned(chunk)
    with open(log, "a", buffering=1) as out:
        if mode == "write":
            pats = []
            for k in range(3):
                with open(f"{pattern}.{k}", "rb") as f:
                    pats.append(f.read())
            p = 0
            while not os.path.exists(stop):
                for c in range(chunks):
                    buf.seek(0)
                    buf.write(pats[p % 3][c * chunk:(c + 1) * chunk])
                    try:
                        n = os.pwritev(fd, [buf], offset + c * chunk)
                        if n != chunk:
                            raise OSError(f"short write of {n} bytes")
                    except OSError as e:
                        out.write(f"{time.time():.6f} error {p} {c} {e}\n")
                        continue
                    out.write(f"{time.time():.6f} {p} {c}\n")
                p += 1
        else:
            with open(pattern, "rb") as f:
                pat = f.read()
            c = 0
            while not os.path.exists(stop):
                try:
                    n = os.preadv(fd, [buf], offset + c * chunk)
                    if n != chunk:
                        raise OSError(f"short read of {n} bytes")
                    if buf[:] != pat[c * chunk:(c + 1) * chunk]:
                        out.write(f"{time.time():.6f} differs chunk {c}\n")
                except OSError as e:
                    out.write(f"{time.time():.6f} error chunk {c} {e}\n")
                c = (c + 1) % chunks
    os.close(fd)


if __name__ == "__main__":
    main()
