profile-99
{
	@stacks[execname, ustack()] = count();
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

tick-1s
{
	printf("\036dtscope-0123abcd snapshot interval %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg stacks\n");
	printa(@stacks);
	printf("\036dtscope-0123abcd end stacks\n");
	trunc(@stacks);
	printf("\036dtscope-0123abcd snapshot-end\n");
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg stacks\n");
	printa(@stacks);
	printf("\036dtscope-0123abcd end stacks\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
