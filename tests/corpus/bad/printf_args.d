/* expect: D_PRINTF_ARG_PROTO 2:9 */
BEGIN { printf("%d %s\n", 1); }
