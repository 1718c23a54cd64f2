profile-997
{
	@samples[zonename, execname] = count();
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg samples\n");
	printa(@samples);
	printf("\036dtscope-0123abcd end samples\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
