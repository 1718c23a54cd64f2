"""Direct (O_DIRECT) disk I/O of a known number of bytes, for the disk and zone probes.

``python disk.py --dir DIR --bytes N`` creates a file of N bytes in DIR (default /var/tmp,
on a real disk rather than tmpfs) and syncs it before its ready line; after go it
overwrites the file with O_DIRECT writes and reads it back with O_DIRECT reads, 256 KiB
at a time. Overwriting allocated blocks changes no metadata the process would have to
write, and O_DIRECT bypasses the page cache, so the block layer sees exactly N bytes
written and N bytes read, issued by this process. N must be a multiple of 4096.
"""

from __future__ import annotations

import argparse
import mmap
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

CHUNK = 256 * 1024
ALIGN = 4096


def disk_workload(nbytes: int, directory: str = "/var/tmp", cgroup=None):
    from . import Workload

    return Workload("disk.py", "--dir", directory, "--bytes", str(nbytes), cgroup=cgroup)


def whole_disk(major: int, minor: int) -> tuple[int, int]:
    """The disk holding a partition (the block layer issues requests on the whole disk)."""
    sysfs = f"/sys/dev/block/{major}:{minor}"
    if os.path.exists(os.path.join(sysfs, "partition")):
        with open(os.path.join(sysfs, "..", "dev")) as dev:
            parent_major, parent_minor = dev.read().strip().split(":")
        return int(parent_major), int(parent_minor)
    return major, minor


def main() -> None:
    import _child

    parser = argparse.ArgumentParser(description="O_DIRECT write then read of N bytes")
    parser.add_argument("--dir", default="/var/tmp")
    parser.add_argument("--bytes", type=int, required=True)
    args = parser.parse_args()
    if args.bytes % ALIGN:
        sys.exit(f"--bytes must be a multiple of {ALIGN}")
    path = os.path.join(args.dir, f"dtscope-disk-{os.getpid()}.dat")
    buffer = mmap.mmap(-1, CHUNK)  # page-aligned, as O_DIRECT needs
    buffer.write(b"\xa5" * CHUNK)
    with open(path, "wb") as f:
        f.writelines(buffer[: min(CHUNK, args.bytes - offset)] for offset in range(0, args.bytes, CHUNK))
        f.flush()
        os.fsync(f.fileno())
    stat = os.stat(path)
    _child.set_comm("dtscope-disk")
    fd = os.open(path, os.O_RDWR | os.O_DIRECT)
    major, minor = whole_disk(os.major(stat.st_dev), os.minor(stat.st_dev))
    _child.ready(pid=os.getpid(), major=major, minor=minor)
    try:
        written = read = 0
        view = memoryview(buffer)
        while written < args.bytes:
            written += os.pwritev(fd, [view[: min(CHUNK, args.bytes - written)]], written)
        while read < args.bytes:
            read += os.preadv(fd, [view[: min(CHUNK, args.bytes - read)]], read)
        _child.done(written=written, read=read)
        # Removing the file may discard its blocks (a block request of its own): only
        # once the parent is done.
        _child.wait_for_exit()
    finally:
        os.close(fd)
        os.unlink(path)


if __name__ == "__main__":
    main()
