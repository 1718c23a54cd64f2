/* expect: D_AGG_FUNC 2:23 */
syscall:::entry { x = count(); }
