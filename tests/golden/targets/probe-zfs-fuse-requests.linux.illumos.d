sdt:fuse::fuse-request-send
{
	@requests[arg0, arg2] = count();
	started[arg0, arg1] = timestamp;
	opcode[arg0, arg1] = arg2;
}

sdt:fuse::fuse-request-end
/started[arg0, arg1] != 0/
{
	@latency[opcode[arg0, arg1]] = quantize(timestamp - started[arg0, arg1]);
	if (arg3 != 0) {
		@errors[arg0, opcode[arg0, arg1], -arg3] = count();
	}
	started[arg0, arg1] = 0;
	opcode[arg0, arg1] = 0;
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg requests\n");
	printa(@requests);
	printf("\036dtscope-0123abcd end requests\n");
	printf("\036dtscope-0123abcd agg latency\n");
	printa(@latency);
	printf("\036dtscope-0123abcd end latency\n");
	printf("\036dtscope-0123abcd agg errors\n");
	printa(@errors);
	printf("\036dtscope-0123abcd end errors\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
