#pragma D option quiet

profile-99
{
	@samples[zonename] = count();
}

tick-1s
{
	printf("%-32s %8s\n", "ZONE", "SAMPLES");
	printa(@samples);
	trunc(@samples);
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
