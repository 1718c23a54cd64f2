#!/usr/sbin/dtrace -s
#pragma D option quiet
#pragma D option switchrate=10hz

dtrace:::BEGIN
{
	printf("%-10s %5s %2s %8s %s\n", "DEVICE", "PID", "D", "BYTES", "PATH");
}

io:::start
{
	start_time[args[0]->b_edev, args[0]->b_blkno] = timestamp;
	this->dir = args[0]->b_flags & B_READ ? "R" : "W";
	printf("%-10s %5d %2s %8d %s\n", args[1]->dev_statname, pid, this->dir,
	    args[0]->b_bcount, args[2]->fi_pathname);
}

io:::done
/start_time[args[0]->b_edev, args[0]->b_blkno]/
{
	this->elapsed = timestamp - start_time[args[0]->b_edev, args[0]->b_blkno];
	@io[args[1]->dev_statname, args[0]->b_flags & B_READ ? "read" : "write"] =
	    quantize(this->elapsed / 1000);
	start_time[args[0]->b_edev, args[0]->b_blkno] = 0;
}
