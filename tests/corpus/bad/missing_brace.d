/* expect: D_SYNTAX 3:8 */
BEGIN {
	x = 1;

