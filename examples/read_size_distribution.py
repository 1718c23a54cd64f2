"""Distribution of the bytes read(2) returned, by process."""

from dtscope.dscript.api import aggregation, arg0, execname, probe, quantize

bytes_read = aggregation(units="bytes", labels=["process"])


@probe("syscall::read:return", when=lambda: arg0 > 0)
def read_returned():
    bytes_read[execname] = quantize(arg0)
