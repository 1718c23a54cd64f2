/* expect: D_PROTO_LEN 2:19 */
syscall:::entry { @a = lquantize(arg0, 0); }
