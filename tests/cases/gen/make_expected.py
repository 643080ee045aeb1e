#!/usr/bin/env python3
"""Writes the expected outputs of tests/test_json_gen.c with Python's own json module.

Run from this directory (python3 make_expected.py) after changing the value below; the test
builds the same value with the ajio_gen_* calls of build_value() and compares byte for byte.
Python is the reference on purpose: the generator claims to reproduce json.dumps() layouts, so
the expected bytes come from json.dumps() itself, not from the code under test.
"""
import json
import random
import re
import struct

VALUE = {
    "name": "caf\u00e9 \"q\" \\ / \u2028 \U0001F600 \x7f \x01\x1f\b\f\n\r\t end",
    "int": -9223372036854775808,
    "big": 18446744073709551615,
    "pi": 3.141592653589793,
    "tiny": 1.5e-07,
    "huge": 1e+16,
    "one": 1.0,
    "neg0": -0.0,
    "t": True,
    "f": False,
    "n": None,
    "empty_a": [],
    "empty_o": {},
    "nested": [1, [2, [3, {}]], {"k": [None, "x"]}],
    "": "empty key",
}


def upper_hex(text):
    """The generator's default: \\u escapes in upper-case hex (as jansson writes them)."""
    return re.sub(r'\\u([0-9a-f]{4})', lambda m: '\\u' + m.group(1).upper(), text)


def write(name, text):
    with open(name, 'w', encoding='utf-8', newline='') as f:
        f.write(text)


def main():
    write('py-default.json', json.dumps(VALUE))
    write('py-utf8.json', json.dumps(VALUE, ensure_ascii=False))
    write('py-indent2.json', json.dumps(VALUE, indent=2))
    write('py-indent0.json', json.dumps(VALUE, indent=0))
    write('py-compact.json', json.dumps(VALUE, separators=(',', ':')))
    write('py-seps.json', json.dumps(VALUE, indent=3, separators=(' ,', ' : ')))
    # zero options: one line, ", " and ": ", UTF-8 as is, upper-case hex, a final newline
    write('default.json', upper_hex(json.dumps(VALUE, ensure_ascii=False)) + '\n')
    # JSON Lines: every element of "nested", then the name, then the whole value
    lines = VALUE['nested'] + [VALUE['name'], VALUE]
    write('lines.jsonl', ''.join(json.dumps(v, separators=(',', ':')) + '\n' for v in lines))

    # doubles: Python's repr() of special values and of random bit patterns
    random.seed(20261130)
    values = [0.1, 1 / 3, 1e16, 1e-5, 1.5e-7, 5e-324, 1.7976931348623157e308, -0.0, 0.0,
              123456789012345678.0, 0.30000000000000004, 1.0, 100.0, 1e15, 1e17, 1e21, 1e22,
              1e23, 2.5e-7, 1e300, -1e-300, 2.2250738585072014e-308, 2.2250738585072009e-308,
              9007199254740993.0, 2.0 ** 53, 2.0 ** 54, 2.0 ** 60, 2.0 ** 63, 2.0 ** 64,
              12345.678, 3.141592653589793, 0.5, -0.25, 1e-4, 1e-16, 5e-17, 65.613616999999977,
              43.420273000000009, 4.35, 0.07, 1e-7, 9.999999999999999e22]
    values += [2.0 ** e for e in range(-1074, 1024, 13)]
    values += [float('1e%d' % e) for e in range(-323, 309, 7)]
    while len(values) < 4000:
        d = struct.unpack('<d', struct.pack('<Q', random.getrandbits(64)))[0]
        if d == d and abs(d) != float('inf'):
            values.append(d)
            values.append(round(random.uniform(-1e4, 1e4), random.randint(0, 9)))
    with open('doubles.txt', 'w') as f:
        f.write('# IEEE 754 bits (hex) and Python repr(), written by make_expected.py\n')
        for d in values:
            f.write('%016x %s\n' % (struct.unpack('<Q', struct.pack('<d', d))[0], repr(d)))


if __name__ == '__main__':
    main()
