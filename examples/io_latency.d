io:::start
{
	start[args[0]->b_edev, args[0]->b_blkno] = timestamp;
}

io:::done
/start[args[0]->b_edev, args[0]->b_blkno] != 0/
{
	@latency[args[1]->dev_statname] = quantize(timestamp - start[args[0]->b_edev, args[0]->b_blkno]);
	start[args[0]->b_edev, args[0]->b_blkno] = 0;
}
