typedef struct mystat {
	int ms_pid;
	uint64_t ms_start;
	string ms_name;
} mystat_t;

translator mystat_t < proc_t *P > {
	ms_pid = P->p_pidp->pid_id;
	ms_start = (uint64_t)P->p_mstart;
	ms_name = stringof(P->p_user.u_comm);
};

inline string proc_state[int s] =
	s == SRUN ? "run" :
	s == SSLEEP ? "sleep" :
	s == SZOMB ? "zombie" : "other";

provider myapp {
	probe query__start(char *, int);
	probe query__done(int, uint64_t);
	probe work(int) : (int);
};

proc:::exec-success
{
	this->st = xlate <mystat_t *> (curthread->t_procp);
	printf("%d %s %s\n", this->st->ms_pid, this->st->ms_name, proc_state[curlwpsinfo->pr_state]);
}

myapp*:::query-start
{
	self->q = copyinstr(arg0);
}
