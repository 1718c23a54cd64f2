refused:
examples/new_processes.py:15:60: curpsinfo->pr_psargs is not translated by Oracle's D 2.0 [D_UNSUPPORTED_MEMBER]
