/* expect: D_FUNC_UNDEF 2:9 */
BEGIN { frobnicate(1); }
