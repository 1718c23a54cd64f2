/* expect: D_OP_LVAL 2:9 */
BEGIN { 1 = 2; }
