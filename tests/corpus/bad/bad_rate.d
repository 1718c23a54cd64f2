/* expect: D_PDESC_INVAL 2:1 */
tick-5fortnights { exit(0); }
