/* expect: D_LLQUANT_STEPVAL 2:51 */
syscall:::entry { @a = llquantize(arg0, 10, 0, 6, 7); }
