/* expect: D_SYNTAX 2:13 */
BEGIN { x = "abc; }
