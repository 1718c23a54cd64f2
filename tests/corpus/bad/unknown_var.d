/* expect: D_IDENT_UNDEF 2:19 */
BEGIN { trace(x + undefined_thing); x = 1; }
