io:::start
{
	this->major = args[1]->dev_major;
	this->minor = args[1]->dev_minor;
	this->size = args[0]->b_bcount;
	this->direction = args[0]->b_flags & B_READ ? "read" : "write";
	@size[this->major, this->minor, this->direction] = quantize(this->size);
	@io_bytes[this->major, this->minor, this->direction] = sum(this->size);
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
