/* expect: D_AGG_FUNC 2:19 */
syscall:::entry { @a = median(arg0); }
