io:::start
{
	started[args[0]->b_edev, args[0]->b_blkno] = timestamp;
}

io:::done
/started[args[0]->b_edev, args[0]->b_blkno] != 0/
{
	@latency[args[1]->dev_major, args[1]->dev_minor, args[0]->b_flags & B_READ ? "read" : "write"] = quantize(timestamp - started[args[0]->b_edev, args[0]->b_blkno]);
	started[args[0]->b_edev, args[0]->b_blkno] = 0;
}
