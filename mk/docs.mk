# The documentation's examples: every fenced c, sh and python block of README.md, docs/*.md and
# python/README.md is compiled or run by tests/docs/rundocs.py (its header states the rules,
# such as how a block is marked as shown only). It needs the library and the tool of make all,
# and builds the Python package itself, as make check-python does.
#
#   make check-docs       run the examples only

CHECK_SCRIPTS += tests/docs/docs.sh
DEB_PACKAGES  += jq python3-dev python3-setuptools

.PHONY: check-docs
check-docs: all
	@AJIO_BUILD=$(B) sh tools/run-tests.sh tests/docs/docs.sh
