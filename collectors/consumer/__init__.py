"""The D consumer: what libdtrace does in user space, for the backends whose tracer cannot."""
