sdt:fuse::fuse-request-send
{
	@requests[arg0, arg2] = count();
	started[arg0, arg1] = timestamp;
	opcode[arg0, arg1] = arg2;
}

sdt:fuse::fuse-request-end
/started[arg0, arg1] != 0/
{
	@latency[opcode[arg0, arg1]] = quantize(timestamp - started[arg0, arg1]);
	if (arg3 != 0) {
		@errors[arg0, opcode[arg0, arg1], -arg3] = count();
	}
	started[arg0, arg1] = 0;
	opcode[arg0, arg1] = 0;
}
