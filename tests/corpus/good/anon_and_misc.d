#!/usr/sbin/dtrace -x bufsize=4m -x aggsize=2m -qs
BEGIN
{
	@ = count();
	@x[1] = count();
}

tick-100ms,
tick-5sec,
tick-1000hz,
profile-10ms
{
	@t[probename] = count();
}

END
{
	printa(@);
	printa(@t);
	setopt("quiet");
	trace(1);
	tracemem(arg0, 16);
	printf("%s\n", "done");
}
