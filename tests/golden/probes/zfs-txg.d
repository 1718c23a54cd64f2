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
