fbt::spa_sync:entry
{
	self->ts = timestamp;
	self->spa = args[0];
}

fbt::spa_sync:return
/self->ts != 0/
{
	@sync_time[stringof(self->spa->spa_name)] = quantize(timestamp - self->ts);
	self->ts = 0;
	self->spa = 0;
}

/* dtscope: snapshot machinery (generated) */

BEGIN
{
	printf("\036dtscope-0123abcd started %d %d\n", timestamp, walltimestamp);
}

tick-1s
{
	printf("\036dtscope-0123abcd snapshot interval %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg sync_time\n");
	printa(@sync_time);
	printf("\036dtscope-0123abcd end sync_time\n");
	trunc(@sync_time);
	printf("\036dtscope-0123abcd snapshot-end\n");
}

END
{
	printf("\036dtscope-0123abcd snapshot final %d %d\n", timestamp, walltimestamp);
	printf("\036dtscope-0123abcd agg sync_time\n");
	printa(@sync_time);
	printf("\036dtscope-0123abcd end sync_time\n");
	printf("\036dtscope-0123abcd snapshot-end\n");
}
