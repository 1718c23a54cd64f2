/*
 * A header comment, as in the DTraceToolkit.
 * 09-Mar-2005	Written.
 */
// A C++ style comment.
BEGIN /* inline */ { /* before */ x = 1; /* after */ } // trailing
syscall::read:entry // between probe and predicate
/ pid == 1 / /* comment before body */
{
	/* division in a predicate-free body */ y = x / 2;
}
syscall::write:entry
/(x / 2) > 0 && x / 2 > 0/
{
	y = 1;
}
