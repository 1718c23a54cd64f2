io:::start
{
	@size[args[1]->dev_major, args[1]->dev_minor] = quantize(args[0]->b_bcount);
	@io_bytes[args[1]->dev_major, args[1]->dev_minor] = sum(args[0]->b_bcount);
}
