nfsv3:::op-read-start
{
	self->start = timestamp;
	self->file = args[1]->noi_curpath;
}

nfsv3:::op-read-done
/self->start/
{
	@lat[self->file] = quantize(timestamp - self->start);
	self->start = 0;
	self->file = 0;
}

mysql*:::query-start
{
	self->query = copyinstr(arg0);
}

python$target:::function-entry
{
	@calls[copyinstr(arg0), copyinstr(arg1)] = count();
}
