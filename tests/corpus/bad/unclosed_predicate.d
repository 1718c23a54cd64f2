/* expect: D_SYNTAX 3:1 */
syscall::read:entry /pid == 1
{
	x = 1;
}
