profile-99
{
	@stacks[execname, stack(), ustack()] = count();
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg stacks\n");
	printa(@stacks);
	printf("\036dtscope-0123abcd end stacks\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
