"""Show which files processes open."""

from dtscope.dscript.api import arg1, copyinstr, execname, options, pid, printf, probe

options(quiet=True)


@probe("syscall::openat:entry")
def opening():
    printf("%-16s %6d %s\n", execname, pid, copyinstr(arg1))
