sdt:fuse::fuse-request-send
/arg2 == 16/
{
	this->connection = arg0;
	this->data = arg3 - 80;
	@size[this->connection, "write"] = quantize(this->data);
	@io_bytes[this->connection, "write"] = sum(this->data);
}

sdt:fuse::fuse-request-send
/arg2 == 15/
{
	reading[arg0, arg1] = 1;
}

sdt:fuse::fuse-request-end
/reading[arg0, arg1] != 0/
{
	this->connection = arg0;
	this->data = arg2 - 16;
	@size[this->connection, "read"] = quantize(this->data);
	@io_bytes[this->connection, "read"] = sum(this->data);
	reading[this->connection, arg1] = 0;
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

tick-1s
{
	printf("\036dtscope-0123abcd snapshot interval %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg size\n");
	printa(@size);
	printf("\036dtscope-0123abcd end size\n");
	trunc(@size);
	printf("\036dtscope-0123abcd agg io_bytes\n");
	printa(@io_bytes);
	printf("\036dtscope-0123abcd end io_bytes\n");
	trunc(@io_bytes);
	printf("\036dtscope-0123abcd snapshot-end\n");
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg size\n");
	printa(@size);
	printf("\036dtscope-0123abcd end size\n");
	printf("\036dtscope-0123abcd agg io_bytes\n");
	printa(@io_bytes);
	printf("\036dtscope-0123abcd end io_bytes\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
