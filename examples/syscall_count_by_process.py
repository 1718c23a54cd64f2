"""Count system calls by process name."""

from dtscope.dscript.api import aggregation, count, execname, probe

calls = aggregation(units="count", labels=["process"])


@probe("syscall:::entry")
def count_calls():
    calls[execname] = count()
