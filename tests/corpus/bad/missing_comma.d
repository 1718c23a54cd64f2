/* expect: D_SYNTAX 3:1 */
syscall::read:entry
syscall::write:entry
{ x = 1; }
