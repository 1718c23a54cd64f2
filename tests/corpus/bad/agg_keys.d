/* expect: D_AGG_REDEF 4:2 */
syscall:::entry {
	@a[execname] = count();
	@a[execname, pid] = count();
}
