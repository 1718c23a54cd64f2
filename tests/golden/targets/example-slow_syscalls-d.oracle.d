#pragma D option quiet

syscall:::entry
{
	self->start = timestamp;
}

syscall:::return
{
	this->_dtscope_p1 = self->start != 0 ? 1 : 0;
}

syscall:::return
/this->_dtscope_p1/
{
	this->elapsed = timestamp - self->start;
	this->_dtscope_c2 = this->elapsed > 10000000 ? 1 : 0;
}

syscall:::return
/this->_dtscope_p1 && this->_dtscope_c2/
{
	printf("%s[%d] %s took %d us\n", execname, pid, probefunc, this->elapsed / 1000);
}

syscall:::return
/this->_dtscope_p1/
{
	self->start = 0;
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

tick-1s
{
	printf("\036dtscope-0123abcd snapshot interval %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd snapshot-end\n");
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd snapshot-end\n");
}
