sdt:fuse::fuse-request-send
/arg2 == 15 || arg2 == 16 || arg2 == 20/
{
	started[arg0, arg1] = timestamp;
	operation[arg0, arg1] = arg2;
}

sdt:fuse::fuse-request-end
/started[arg0, arg1] != 0/
{
	@latency[arg0, operation[arg0, arg1] == 15 ? "read" : operation[arg0, arg1] == 16 ? "write" : "fsync"] = quantize(timestamp - started[arg0, arg1]);
	started[arg0, arg1] = 0;
	operation[arg0, arg1] = 0;
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg latency\n");
	printa(@latency);
	printf("\036dtscope-0123abcd end latency\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
