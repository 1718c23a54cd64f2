io:::start
{
	this->major = args[1]->dev_major;
	this->minor = args[1]->dev_minor;
	this->size = args[0]->b_bcount;
	@size[this->major, this->minor] = quantize(this->size);
	@io_bytes[this->major, this->minor] = sum(this->size);
}
