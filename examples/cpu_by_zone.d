#pragma D option quiet

profile-99
{
	@samples[zonename] = count();
}

tick-1s
{
	printf("%-32s %8s\n", "ZONE", "SAMPLES");
	printa(@samples);
	trunc(@samples);
}
