/* expect: D_AGG_SCALAR 2:45 */
syscall:::entry { @a = count(); } END { x = @a; }
