ip:::send
{
	@packets[args[3]->if_name, "send"] = count();
}

ip:::receive
{
	@packets[args[3]->if_name, "receive"] = count();
}
