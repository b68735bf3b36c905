# docs/: design notes and man pages.
EXTRA_DIST += docs
