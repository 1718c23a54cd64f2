fbt::zfs_*:entry,
fbt:zfs:[a-c]*:return,
fbt::?fs_read:entry,
syscall::*stat*:entry,
syscall::read:,
:::BEGIN
{
	@[probeprov, probemod, probefunc, probename] = count();
}

syscall:::,
::open:entry,
proc:::exec-*
{
	@a = count();
}
