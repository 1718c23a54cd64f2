io:::start
{
	started[args[0]->b_edev, args[0]->b_blkno] = timestamp;
}

io:::done
/started[args[0]->b_edev, args[0]->b_blkno] != 0/
{
	@latency[args[1]->dev_major, args[1]->dev_minor, args[0]->b_flags & B_READ ? "read" : "write"] = quantize(timestamp - started[args[0]->b_edev, args[0]->b_blkno]);
	started[args[0]->b_edev, args[0]->b_blkno] = 0;
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
