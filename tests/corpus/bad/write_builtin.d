/* expect: D_OP_WRITE 2:9 */
BEGIN { pid = 1; }
