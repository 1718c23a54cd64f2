"""A busy loop in a known function, for the profile and off-CPU probes.

:func:`build` compiles a tiny C program with gcc (frame pointers kept, symbols in) into a
directory; :func:`busy_workload` starts it. It speaks the workloads' ready/go/done
protocol: after go it spins in ``dtscope_busy_spin`` (called from ``dtscope_busy_outer``)
for ``--spin-ms`` milliseconds of CPU, then sleeps ``--sleeps`` times ``--sleep-ms``
milliseconds in ``dtscope_busy_nap`` (off-CPU time with a known lower bound). x86-64 only.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SPIN_FUNCTION = "dtscope_busy_spin"
OUTER_FUNCTION = "dtscope_busy_outer"
NAP_FUNCTION = "dtscope_busy_nap"

SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* noinline keeps each function its own frame, so the stack shows outer -> spin. */
__attribute__((noinline)) unsigned long dtscope_busy_spin(double ms) {
    volatile unsigned long n = 0;
    double end = now_ms(CLOCK_THREAD_CPUTIME_ID) + ms;
    while (now_ms(CLOCK_THREAD_CPUTIME_ID) < end)
        for (int i = 0; i < 10000; i++)
            n++;
    return n;
}

__attribute__((noinline)) unsigned long dtscope_busy_outer(double ms) {
    return dtscope_busy_spin(ms) + 1;
}

/* The sleep is a raw system call made here, not through libc (built without frame
 * pointers), so a user stack taken while the process is off CPU starts in this function. */
__attribute__((noinline)) void dtscope_busy_nap(int ms) {
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(35 /* SYS_nanosleep */), "D"(&ts), "S"(0)
                     : "rcx", "r11", "memory");
}

int main(int argc, char **argv) {
    double spin_ms = 500;
    int sleeps = 0, sleep_ms = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--spin-ms")) spin_ms = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--sleeps")) sleeps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--sleep-ms")) sleep_ms = atoi(argv[i + 1]);
    }
    char line[64];
    printf("{\"ready\": {\"pid\": %d}}\n", getpid());
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) return 3;
    unsigned long n = dtscope_busy_outer(spin_ms);
    for (int i = 0; i < sleeps; i++)
        dtscope_busy_nap(sleep_ms);
    printf("{\"done\": {\"spin_ms\": %g, \"sleeps\": %d, \"sleep_ms\": %d, \"n\": %lu}}\n",
           spin_ms, sleeps, sleep_ms, n);
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {}
    return 0;
}
"""


def build(directory: Path) -> Path:
    """Compile the busy loop into ``directory``; returns the executable's path."""
    if shutil.which("gcc") is None:
        raise RuntimeError("gcc is not installed")
    source = Path(directory) / "dtscope_busy.c"
    binary = Path(directory) / "dtscope_busy"
    source.write_text(SOURCE)
    subprocess.run(
        ["gcc", "-O1", "-g", "-fno-omit-frame-pointer", "-fno-inline", "-o", str(binary), str(source)],
        check=True,
        capture_output=True,
    )
    return binary


def busy_workload(binary: Path, spin_ms: float = 500, sleeps: int = 0, sleep_ms: int = 0, cgroup: Path | None = None):
    from . import Workload

    argv = [str(binary), "--spin-ms", str(spin_ms), "--sleeps", str(sleeps), "--sleep-ms", str(sleep_ms)]
    return Workload(binary.name, argv=argv, cgroup=cgroup)
