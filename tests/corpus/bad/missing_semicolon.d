/* expect: D_SYNTAX 4:7 */
BEGIN
{
	x = 1
	y = 2;
}
