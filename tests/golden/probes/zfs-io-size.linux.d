sdt:fuse::fuse-request-send
/arg2 == 16/
{
	this->connection = arg0;
	this->data = arg3 - 80;
	@size[this->connection, "write"] = quantize(this->data);
	@io_bytes[this->connection, "write"] = sum(this->data);
}

sdt:fuse::fuse-request-send
/arg2 == 15/
{
	reading[arg0, arg1] = 1;
}

sdt:fuse::fuse-request-end
/reading[arg0, arg1] != 0/
{
	this->connection = arg0;
	this->data = arg2 - 16;
	@size[this->connection, "read"] = quantize(this->data);
	@io_bytes[this->connection, "read"] = sum(this->data);
	reading[this->connection, arg1] = 0;
}
