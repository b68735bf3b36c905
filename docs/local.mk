# docs/: design notes and man pages.
EXTRA_DIST += docs
dist_man_MANS += docs/mmcoord.conf.5
