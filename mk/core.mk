# Core library checks that are not cmocka suites.
CHECK_SCRIPTS += tests/symbols.sh tests/install.sh tests/newdir.sh tests/callgraph.py
ASAN_SCRIPTS  += tests/newdir.sh
