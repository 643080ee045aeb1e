#!/bin/sh
# make check's entry to the documentation's examples (tests/docs/rundocs.py says the rules).
exec /usr/bin/python3 "$(dirname "$0")/rundocs.py" "$@"
