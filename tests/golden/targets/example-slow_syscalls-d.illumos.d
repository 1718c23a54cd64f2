#pragma D option quiet

syscall:::entry
{
	self->start = timestamp;
}

syscall:::return
/self->start != 0/
{
	this->elapsed = timestamp - self->start;
	if (this->elapsed > 10000000) {
		printf("%s[%d] %s took %d us\n", execname, pid, probefunc, this->elapsed / 1000);
	}
	self->start = 0;
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd snapshot-end\n");
}
