"""Objects for which json.dumps consults a Python protocol rather than C storage: the encoder
must give json's bytes (or raise json's exception type) for them too.

json.dumps takes two roads. Without indent, Modules/_json.c: a list or tuple subclass is read
through PySequence_Fast (its __iter__, a snapshot), a dict subclass through its items(), and an
empty dict is found by its C size. With indent, json/encoder.py: isinstance() (which believes a
proxy's __class__), `if not container` (__bool__, __len__), `for value in lst` (__iter__, live),
`for key, value in dct.items()` (any pair, live), and `o != o` to find NaN in a float. The
encoder reads C storage for exact dict, list, tuple, str, int and float only, and follows the
road of the layout it writes for everything else.

The reference is json.dumps with allow_nan=False unless the call says otherwise: the package's
documented refusal of NaN and the infinities (where plain json.dumps writes NaN, which is not
JSON), here also for a float that calls itself NaN through __ne__. Text json.dumps writes that is
not JSON is refused with ValueError the same way.
"""

import json

import pytest

import atomic_json_io as aj
from test_deep_nesting import run_checked

KWARGS = [{}, {"indent": 2}, {"ensure_ascii": False}, {"sort_keys": True},
          {"separators": (",", ":")}]


class IterList(list):
    def __iter__(self):
        return iter(["x"])


class IterTuple(tuple):
    def __iter__(self):
        return iter(["x"])


class NoItemsList(list):
    def __iter__(self):
        return iter(())


class Len0Dict(dict):
    def __len__(self):
        return 0


class Len0List(list):
    def __len__(self):
        return 0


class FalseDict(dict):
    def __bool__(self):
        return False


class FalseList(list):
    def __bool__(self):
        return False


class ListItemsDict(dict):
    def items(self):
        return [[k, v] for k, v in dict.items(self)]


class NoItemsDict(dict):
    def items(self):
        return []


class Proxy:
    """What wrapt.ObjectProxy and the like do: claim the wrapped object's class and forward
    the methods json calls, without being a subclass."""

    def __init__(self, wrapped):
        self._wrapped = wrapped

    @property
    def __class__(self):
        return type(self._wrapped)

    def __len__(self):
        return len(self._wrapped)

    def __iter__(self):
        return iter(self._wrapped)

    def items(self):
        return self._wrapped.items()


class NaNFloat(float):
    """A float that says it is not equal to itself: json's floatstr calls it NaN."""

    def __eq__(self, other):
        return False

    def __ne__(self, other):
        return True

    __hash__ = float.__hash__


class InfFloat(float):
    """Equal to everything, infinity included: json's floatstr calls it Infinity."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = float.__hash__


def shrinking():
    """A list subclass that default= shortens while it is being written: json's C encoder
    writes the snapshot PySequence_Fast took (10 values), json/encoder.py iterates the live list
    (5)."""

    class Shrinking(list):
        pass

    lst = Shrinking(object() for _ in range(10))

    def default(o):
        lst.pop()
        return None

    return lst, {"default": default}


def dict_shrinking():
    """An exact dict that default= shortens: json's C encoder writes the items it took first,
    json/encoder.py's live items() view raises RuntimeError."""
    d = {str(i): object() for i in range(6)}

    def default(o):
        d.popitem()
        return None

    return d, {"default": default}


def str_proxy_top():
    """json.JSONEncoder.encode() asks isinstance(o, str) first, whatever the layout: a proxy of
    a str goes to the C string encoder, which refuses it, instead of to default=."""
    return Proxy("s"), {"default": lambda o: "d"}


# name -> a function making a fresh (value, extra keyword arguments)
CASES = {
    "list subclass __iter__": lambda: (IterList([1, 2]), {}),
    "tuple subclass __iter__": lambda: (IterTuple((1, 2)), {}),
    "list subclass __iter__, nested": lambda: ({"k": IterList([1, 2]), "n": [IterTuple()]}, {}),
    "list subclass __iter__, no storage": lambda: (IterList(), {}),
    "list subclass __iter__ yielding nothing": lambda: ([NoItemsList([1])], {}),
    "dict subclass __len__ 0": lambda: ([Len0Dict(a=1)], {}),
    "list subclass __len__ 0": lambda: ({"k": Len0List([1])}, {}),
    "dict subclass __bool__ False": lambda: (FalseDict(a=1), {}),
    "list subclass __bool__ False": lambda: (FalseList([1]), {}),
    "dict subclass items() of lists": lambda: (ListItemsDict(b=1, a=[2]), {}),
    "dict subclass items() empty": lambda: ({"k": NoItemsDict(a=1)}, {}),
    "__class__ says dict": lambda: (Proxy({"b": 1, "a": [Proxy([2, 3])]}), {}),
    "__class__ says list": lambda: ([Proxy([1, {"a": 2}])], {}),
    "__class__ says str": str_proxy_top,
    "__class__ says str, nested": lambda: ([Proxy("s")], {"default": lambda o: "d"}),
    "float subclass __ne__": lambda: ([NaNFloat(1.5)], {}),
    "float subclass __eq__": lambda: ({"v": InfFloat(2.5)}, {}),
    "float subclass __ne__, key": lambda: ({NaNFloat(1.5): 1}, {}),
    "list subclass mutated by default=": shrinking,
    "dict mutated by default=": dict_shrinking,
}


def outcome(fn, make, kw):
    """fn(value, **kw) as ("ok", text) or ("error", exception type)."""
    value, extra = make()
    try:
        return ("ok", fn(value, **dict(kw, **extra)))
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return ("error", type(e))


def reference(value, **kw):
    text = json.dumps(value, **{"allow_nan": False, **kw})
    # A list whose __iter__ yields nothing though it is not empty loses its "[" in
    # json/encoder.py: text that is not JSON, refused (ValueError) as NaN is.
    try:
        json.loads(text)
    except ValueError:
        raise ValueError("not JSON: %r" % text) from None
    return text


@pytest.mark.parametrize("kw", KWARGS, ids=lambda kw: ",".join(kw) or "defaults")
@pytest.mark.parametrize("name", list(CASES))
def test_dumps_is_json(name, kw):
    assert outcome(aj.dumps, CASES[name], kw) == outcome(reference, CASES[name], kw)


def test_reference_is_what_the_cases_claim():
    # The cases do reach the protocols: json's output differs from what C storage says.
    assert json.dumps(IterList([1, 2])) == '["x"]'
    assert json.dumps(Len0Dict(a=1), indent=2) == "{}"
    assert json.dumps([NoItemsList([1])], indent=1) == "[\n \n ]\n]"
    assert json.dumps(ListItemsDict(a=1), indent=1) == '{\n "a": 1\n}'
    assert json.dumps(Proxy({"a": 1}), indent=1) == '{\n "a": 1\n}'
    assert json.dumps(NaNFloat(1.5), indent=1) == "NaN"
    assert json.dumps(NaNFloat(1.5)) == "1.5"
    lst, extra = shrinking()
    assert json.dumps(lst, **extra).count("null") == 10
    lst, extra = shrinking()
    assert json.dumps(lst, indent=1, **extra).count("null") == 5
    with pytest.raises(RuntimeError):
        d, extra = dict_shrinking()
        json.dumps(d, indent=1, **extra)


def test_nan_by_protocol_is_refused_as_nan():
    # The documented refusal (ValueError) where json.dumps writes NaN; allow_nan=True is
    # json's text, as for a real NaN.
    for v in (NaNFloat(1.5), [InfFloat(1.0)], {NaNFloat(1.5): 1}):
        with pytest.raises(ValueError, match="Out of range float values"):
            aj.dumps(v, indent=2)
        assert aj.dumps(v, indent=2, allow_nan=True) == json.dumps(v, indent=2)
        assert aj.dumps(v) == json.dumps(v)


# --- the file API: the same encoder on the file path --------------------------------------------


def file_outcome(path, make, kw, lines):
    value, extra = make()
    try:
        if lines:
            aj.write_jsonl_atomic(path, [value], durable=False, **dict(kw, **extra))
        else:
            aj.write_json_atomic(path, value, durable=False, **dict(kw, **extra))
    except Exception as e:  # noqa: BLE001
        return ("error", type(e))
    with open(path, "rb") as f:
        return ("ok", f.read())


def file_reference(make, kw, lines):
    # write_json_atomic: json.dumps(v, indent=2) + "\n"; JSON Lines: json.dumps(record) + "\n".
    value, extra = make()
    kw = dict(kw, **extra) if lines else {"indent": 2, **kw, **extra}
    try:
        return ("ok", (reference(value, **kw) + "\n").encode())
    except Exception as e:  # noqa: BLE001
        return ("error", type(e))


@pytest.mark.parametrize("kw", [{}, {"indent": None}, {"sort_keys": True, "indent": 1}],
                         ids=["indent2", "one-line", "sorted"])
@pytest.mark.parametrize("name", list(CASES))
def test_write_json_atomic_is_json(tmp_path, name, kw):
    path = tmp_path / "f.json"
    assert file_outcome(path, CASES[name], kw, False) == file_reference(CASES[name], kw, False)


@pytest.mark.parametrize("name", list(CASES))
def test_write_jsonl_atomic_is_json(tmp_path, name):
    path = tmp_path / "f.jsonl"
    assert file_outcome(path, CASES[name], {}, True) == file_reference(CASES[name], {}, True)


# --- json.dumps = atomic_json_io.dumps ----------------------------------------------------------


def test_patched_json_dumps_fallbacks(tmp_path, monkeypatch):
    # Adopting the drop-in by patching json: what the C encoder leaves to the json module
    # (allow_nan=True, cls=) must reach the json.dumps bound at import, not the patched name.
    real = json.dumps
    monkeypatch.setattr(json, "dumps", aj.dumps)
    v = {"a": [1.5, IterList([1])]}
    assert aj.dumps(v, allow_nan=True, indent=1) == real(v, indent=1)
    assert aj.dumps(v, cls=json.JSONEncoder) == real(v)
    aj.write_json_atomic(tmp_path / "a.json", v, cls=json.JSONEncoder, durable=False)
    assert (tmp_path / "a.json").read_text() == real(v, indent=2) + "\n"
    aj.write_jsonl_atomic(tmp_path / "a.jsonl", [v], allow_nan=True, durable=False)
    assert (tmp_path / "a.jsonl").read_text() == real(v) + "\n"


# --- deep nesting through the protocol paths ----------------------------------------------------

DEEP_CHILD = r"""
import json, sys
import atomic_json_io as aj

class L(list):
    def __iter__(self):
        return list.__iter__(self)

class D(dict):
    def items(self):
        return dict.items(self)

class Proxy:
    def __init__(self, w):
        self._w = w
    @property
    def __class__(self):
        return type(self._w)
    def __len__(self):
        return len(self._w)
    def __iter__(self):
        return iter(self._w)
    def items(self):
        return self._w.items()

sys.setrecursionlimit(10**6)
kind, depth, indent = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
x = []
for _ in range(depth):
    x = {"list": lambda: L([x]), "dict": lambda: D(k=x), "proxy": lambda: Proxy([x]),
         "proxydict": lambda: Proxy({"k": x})}[kind]()
try:
    aj.dumps(x, indent=indent)
    print(json.dumps({"outcome": "ok"}))
except RecursionError:
    print(json.dumps({"outcome": "RecursionError"}))
"""


@pytest.mark.parametrize("depth", [80_000, 1_000_000])
@pytest.mark.parametrize(
    "kind, indent",
    # A proxy is a container only to json/encoder.py (indent); json's C encoder refuses it.
    [("list", None), ("list", 2), ("dict", None), ("dict", 2), ("proxy", 2), ("proxydict", 2)],
)
def test_deep_protocol_nesting_is_recursion_error(kind, indent, depth):
    # As the exact containers of test_deep_nesting.py: a RecursionError at a raised recursion
    # limit, never a crash (the child's way out is checked: a signal fails the test).
    res = run_checked(DEEP_CHILD, kind, depth, json.dumps(indent))
    assert res["outcome"] == "RecursionError"
