/* expect: D_LQUANT_MISMATCH 2:45 */
syscall:::entry { @a = lquantize(arg0, 100, 10, 1); }
