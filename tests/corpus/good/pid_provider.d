pid$target::malloc:entry
{
	self->size = arg0;
	@sizes = quantize(arg0);
}

pid$target::malloc:return
/self->size/
{
	@bytes[ustack(8)] = sum(self->size);
	self->size = 0;
}

pid$target:libc.so.1:*printf*:entry,
pid$target:a.out::entry
{
	@calls[probemod, probefunc] = count();
}

pid$1::main:entry
{
	trace(arg0);
}
