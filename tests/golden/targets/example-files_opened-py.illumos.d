#pragma D option quiet

syscall::openat:entry
{
	printf("%-16s %6d %s\n", execname, pid, copyinstr(arg1));
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
