syscall::open*:entry
{
	self->path = copyinstr(arg0);
}

syscall::open*:return
/self->path != NULL/
{
	if (arg0 < 0) {
		@errors[self->path, errno] = count();
	} else if (arg0 > 100) {
		@high[execname] = max(arg0);
	} else {
		@ok[execname] = count();
		@fds[execname] = min(arg0);
		@sd[execname] = stddev(arg0);
	}
	if (errno == ENOENT)
		@missing[self->path] = count();
	if (arg0 == 0) {
	}
	self->path = 0;
}
