"""On-CPU samples by zone, printed and reset every interval."""

from dtscope.dscript.api import (
    Duration,
    aggregation,
    count,
    options,
    param,
    printa,
    printf,
    probe,
    trunc,
    zonename,
)

options(quiet=True)

interval = param(Duration, default="1s", help="how often to print")

samples = aggregation(units="count", labels=["zone"])


@probe("profile-99")
def sample():
    samples[zonename] = count()


@probe("tick-{interval}")
def report():
    printf("%-32s %8s\n", "ZONE", "SAMPLES")
    printa(samples)
    trunc(samples)
