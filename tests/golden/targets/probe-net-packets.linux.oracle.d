ip:::send
{
	@packets[args[3]->if_name, "send"] = count();
}

ip:::receive
{
	@packets[args[3]->if_name, "receive"] = count();
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

tick-1s
{
	printf("\036dtscope-0123abcd snapshot interval %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg packets\n");
	printa(@packets);
	printf("\036dtscope-0123abcd end packets\n");
	trunc(@packets);
	printf("\036dtscope-0123abcd snapshot-end\n");
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg packets\n");
	printa(@packets);
	printf("\036dtscope-0123abcd end packets\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
