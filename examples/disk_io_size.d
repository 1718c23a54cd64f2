io:::start
{
	this->direction = args[0]->b_flags & B_READ ? "read" : "write";
	@sizes[args[1]->dev_statname, this->direction] = quantize(args[0]->b_bcount);
}
