/* expect: D_MACRO_UNDEF 2:15 */
BEGIN { trace($bogus); }
