# raft/: see the directory's files; fragments add to the variables declared in Makefile.am.
