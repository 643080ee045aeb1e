#!/bin/sh
# src/json_pow10.h is what tools/gen-pow10.py writes, and the script's proofs of the logarithm
# approximations json_number.c uses still hold.
exec python3 "$(dirname "$0")/../tools/gen-pow10.py" --check
