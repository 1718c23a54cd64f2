sdt:zfs::arc-hit
{
	@arc["hit", execname] = count();
}

sdt:zfs::arc-miss
{
	@arc["miss", execname] = count();
}
