/* expect: D_SYNTAX 2:11 */
BEGIN { x # 1; }
