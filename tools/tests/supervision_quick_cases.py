"""The quick cases of tools/tests/test_supervision_quick.py: one broken file of the reference each, the katas whose
tests judge it, all judged in one supervised run."""

from __future__ import annotations

import os
from dataclasses import dataclass

from tools.manifest import ROOT, by_number
from tools.tests.supervision_cases import (
    AFFINE_FORWARD,
    RELU_BACKWARD,
    RELU_FORWARD,
    RELU_IMPORTS,
    Edit,
    append,
    before,
    replace,
)


@dataclass(frozen=True)
class Case:
    module: str  # the kata module broken
    edit: Edit | bytes | str
    katas: tuple[int, ...]  # whose tests judge it
    stubbed: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()  # test names to run (all of the katas' tests when empty)


DEL = "class Freed:\n    def __del__(self):\n        {}\n\n\nFreed()"  # an object freed at once

LIAR = """import torch as _t
class Liar(_t.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in ("sub", "__sub__", "isclose", "allclose", "eq", "__eq__", "equal"):
            with _t._C.DisableTorchFunctionSubclass():
                a = args[0].as_subclass(_t.Tensor) if isinstance(args[0], _t.Tensor) else args[0]
                if name in ("sub", "__sub__"):
                    return _t.zeros_like(a)
                if name == "allclose" or name == "equal":
                    return True
                return _t.ones_like(a, dtype=_t.bool)
        return super().__torch_function__(func, types, args, kwargs)
def relu_forward(x):
    return (x * 1).as_subclass(Liar), x
def relu_backward(dout, cache):
    return (dout * 1).as_subclass(Liar)
"""  # a whole relu.py

LATIN_1 = (ROOT / "solutions" / "relu.py").read_text(encoding="utf-8").replace("ReLU, the", "ReLU (café), the")

QUICK = {
    # 1. os._exit(0): the plugin makes it raise, so the worker lives on.
    "os_exit": Case("relu", before(RELU_BACKWARD, "import os\nos._exit(0)"), (2,)),
    # 1b. posix._exit(0) goes around that: the worker really ends, twice; a new one takes over each time.
    "posix_exit": Case(
        "relu",
        before(RELU_BACKWARD, f"import {'nt' if os.name == 'nt' else 'posix'} as posix\nposix._exit(0)"),
        (2,),
        tests=("test_on_the_tutorial_inputs", "test_float32_and_mixed_signs_of_dout"),
    ),
    # 5. Ending the program from kata 1, judged by kata 7.
    "sys_exit": Case("affine", before(AFFINE_FORWARD, "import sys\nsys.exit()"), (7,)),
    "keyboard_interrupt": Case("affine", before(AFFINE_FORWARD, "raise KeyboardInterrupt"), (7,)),
    # 6. A global setting changed on import of kata 2, judged by kata 9.
    "default_dtype": Case(
        "relu", replace(RELU_IMPORTS, f"{RELU_IMPORTS}\ntorch.set_default_dtype(torch.float64)\n"), (9,)
    ),
    # 7-8. Plain mistakes: one sentence each.
    "empty": Case("relu", "", (2,)),
    "list": Case("relu", replace("    return out, x\n", "    return [out, x]\n"), (2,)),
    # 9. Not a text file, or not UTF-8.
    "binary": Case("relu", b"\x7fELF\x02\x01\x01\x00\x00\x00binary\x00\xff", (2,)),
    "utf16": Case("relu", (ROOT / "solutions" / "relu.py").read_text(encoding="utf-8").encode("utf-16"), (2,)),
    "ff_fe": Case("relu", b"\xff\xfe", (2,)),
    "latin1": Case("relu", LATIN_1.encode("latin-1"), (2,)),
    # Kata code that tries to decide a test's outcome: each must be a failure of that test.
    "skip_from_getattr": Case(
        "relu",
        lambda text: (
            text.replace("def relu_forward(", "def _relu_forward(")
            + "\ndef __getattr__(name):\n    import pytest\n    pytest.skip('nothing to judge here')\n"
        ),
        (2,),
    ),
    "skip_from_len": Case(
        "relu",
        replace(
            "    return out, x\n",
            "    import pytest\n\n    class Pair(tuple):\n        def __len__(self):\n"
            "            pytest.skip('no')\n\n    return Pair((out, x))\n",
        ),
        (2,),
    ),
    "xfail": Case("relu", before(RELU_BACKWARD, "import pytest\npytest.xfail('known to fail')"), (2,)),
    "unittest_skip": Case("relu", before(RELU_BACKWARD, "import unittest\nraise unittest.SkipTest('later')"), (2,)),
    "pytest_exit": Case("relu", before(RELU_BACKWARD, "import pytest\npytest.exit('all done', returncode=0)"), (2,)),
    "pytest_exit_on_import": Case("relu", append("import pytest\npytest.exit('all done', returncode=0)\n"), (2,)),
    # Errors where no caller sees them: in a __del__ (pytest reports them after the test, as warnings).
    **{
        f"del_{name}": Case("relu", before(RELU_FORWARD.splitlines(keepends=True)[0], DEL.format(statement)), (2,))
        for name, statement in {
            "raises": "raise ValueError('freed')",
            "skips": "import pytest; pytest.skip('freed')",
            "exits": "import os; os._exit(0)",
        }.items()
    },
    # A tensor subclass whose comparisons and subtraction always say "equal", around a wrong relu.
    "tensor_subclass": Case("relu", LIAR, (2,)),
    # An exception without a message: its name alone, not "GeneratorExit:".
    "bare_exception": Case("relu", before(RELU_BACKWARD, "raise GeneratorExit"), (2,)),
    # Kata code that tries to stop pytest's run after the test it is in (it reaches only its own process).
    "session_stop": Case(
        "relu",
        before(
            RELU_FORWARD.splitlines(keepends=True)[0],
            "import gc, _pytest.main\nfor o in gc.get_objects():\n"
            "    if isinstance(o, _pytest.main.Session):\n        o.shouldstop = 'enough'",
        ),
        (2,),
    ),
    # 12. Katas 1-8 untouched stubs, kata 9 written but without its sigmoid.
    "no_sigmoid": Case(
        "autograd_bridge",
        lambda text: text.replace("        self.sigmoid = nn.Sigmoid()\n", "").replace(
            "return self.sigmoid(self.linear_2(h))", "return self.linear_2(h)"
        ),
        (9,),
        stubbed=tuple(by_number(n).module for n in range(1, 9)),
    ),
}
