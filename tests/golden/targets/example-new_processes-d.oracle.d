refused:
examples/new_processes.d:10:57: curpsinfo->pr_psargs is not translated by Oracle's D 2.0 [D_UNSUPPORTED_MEMBER]
