io:::start
{
	this->major = args[1]->dev_major;
	this->minor = args[1]->dev_minor;
	this->size = args[0]->b_bcount;
	this->direction = args[0]->b_flags & B_READ ? "read" : "write";
	@size[this->major, this->minor, this->direction] = quantize(this->size);
	@io_bytes[this->major, this->minor, this->direction] = sum(this->size);
}
