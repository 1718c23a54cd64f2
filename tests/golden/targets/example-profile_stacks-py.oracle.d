profile-997
/arg0 != 0/
{
	@kernel_stacks[stack()] = count();
}

profile-997
/arg1 != 0/
{
	@user_stacks[execname, ustack()] = count();
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

tick-1s
{
	printf("\036dtscope-0123abcd snapshot interval %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg kernel_stacks\n");
	printa(@kernel_stacks);
	printf("\036dtscope-0123abcd end kernel_stacks\n");
	trunc(@kernel_stacks);
	printf("\036dtscope-0123abcd agg user_stacks\n");
	printa(@user_stacks);
	printf("\036dtscope-0123abcd end user_stacks\n");
	trunc(@user_stacks);
	printf("\036dtscope-0123abcd snapshot-end\n");
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg kernel_stacks\n");
	printa(@kernel_stacks);
	printf("\036dtscope-0123abcd end kernel_stacks\n");
	printf("\036dtscope-0123abcd agg user_stacks\n");
	printa(@user_stacks);
	printf("\036dtscope-0123abcd end user_stacks\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
