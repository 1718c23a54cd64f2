"""The command ``dtscope run -c`` (or ``bpftrace -c``) starts: it marks the moment tracing began, then waits.

bpftrace (and dtrace) start the ``-c`` command only once every probe is attached, so the
file DIR/started appearing means "the tracer sees everything from now on". The test then
releases its workloads, waits for them, and creates DIR/finished; this command exits and
the tracer stops, printing its aggregations.
"""

import os
import sys
import time

directory = sys.argv[1]
with open(os.path.join(directory, "started"), "w") as marker:
    marker.write(str(os.getpid()))
deadline = time.monotonic() + float(sys.argv[2] if len(sys.argv) > 2 else 120)
while not os.path.exists(os.path.join(directory, "finished")):
    if time.monotonic() > deadline:
        sys.exit("gate: never told to finish")
    time.sleep(0.01)
