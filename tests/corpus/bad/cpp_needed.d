/* expect: D_SYNTAX 2:1 */
#define X 1
BEGIN { trace(X); }
