#!/usr/sbin/dtrace -wqs
proc:::exec-success
/execname == "evil"/
{
	stop();
	raise(9);
	system("echo %d", pid);
	chill(1000);
}
