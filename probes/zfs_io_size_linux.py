"""ZFS read and write sizes on Linux: the data carried by zfs-fuse's FUSE requests."""

from dtscope.dscript.api import (
    aggregation,
    arg0,
    arg1,
    arg2,
    arg3,
    assoc_array,
    probe,
    quantize,
    sum,
    this,
)

META = {
    "name": "zfs-io-size",
    "area": "zfs",
    "description": "ZFS read/write sizes (distribution and total bytes) by dataset",
    "platforms": ["linux"],
}

FUSE_READ = 15
FUSE_WRITE = 16
# A FUSE_WRITE request carries fuse_in_header (40 bytes) and fuse_write_in (40) before
# the data; a reply carries fuse_out_header (16) before the data read.
WRITE_HEADERS = 80
REPLY_HEADER = 16

size = aggregation(units="bytes", labels=["fuse connection", "operation"], help="bytes per FUSE read/write")
io_bytes = aggregation(units="bytes", labels=["fuse connection", "operation"], help="total bytes read and written")
reading = assoc_array()


@probe("sdt:fuse::fuse-request-send", when=lambda: arg2 == FUSE_WRITE)
def write_sent():
    # Read the arguments once into clause-local variables: bpftrace 0.17 emits a context
    # access the kernel's verifier rejects when they are read again after a histogram.
    this.connection = arg0
    this.data = arg3 - WRITE_HEADERS
    size[this.connection, "write"] = quantize(this.data)
    io_bytes[this.connection, "write"] = sum(this.data)


@probe("sdt:fuse::fuse-request-send", when=lambda: arg2 == FUSE_READ)
def read_sent():
    reading[arg0, arg1] = 1


@probe("sdt:fuse::fuse-request-end", when=lambda: reading[arg0, arg1] != 0)
def read_done():
    this.connection = arg0
    this.data = arg2 - REPLY_HEADER
    size[this.connection, "read"] = quantize(this.data)
    io_bytes[this.connection, "read"] = sum(this.data)
    del reading[this.connection, arg1]
