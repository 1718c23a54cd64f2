/* expect: D_SYNTAX 3:1 */
BEGIN { x = 1; }
/* never closed
END {}
