"""Print every program that starts, with its arguments."""

from dtscope.dscript.api import curpsinfo, options, pid, ppid, printf, probe, walltimestamp

options(quiet=True)


@probe("BEGIN")
def header():
    printf("%-20s %6s %6s %s\n", "TIME", "PID", "PPID", "ARGS")


@probe("proc:::exec-success")
def started():
    printf("%-20Y %6d %6d %s\n", walltimestamp, pid, ppid, curpsinfo.pr_psargs)
