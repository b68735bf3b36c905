# docs/: design notes and man pages.
EXTRA_DIST += docs
dist_man_MANS += docs/mmcoord.conf.5
dist_man_MANS += docs/mmcoordd.8 docs/mmctl.8
