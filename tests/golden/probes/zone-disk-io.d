io:::start
{
	@ios[zonename] = count();
	@io_bytes[zonename] = sum(args[0]->b_bcount);
}
