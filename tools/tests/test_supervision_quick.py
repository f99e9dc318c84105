"""Hostile and broken kata code under the supervisor: tools/run/, tools/plugin/ and tools/judge/ together.

Each case writes the reference as a katas package in a temporary folder, breaks one file of it, judges
it with supervisor.run (as every nox session does) and checks the verdict: which tests fail, the kata
blamed, a message a learner can read (no traceback), and a run that ends in bounded time. The quick
cases (tools/tests/supervision_quick_cases.py) share one supervised run (one worker imports torch once for
all of them); the cases about time limits (test_supervision_time.py) and about processes and blame
(test_supervision_processes.py) each get a run of their own."""

from __future__ import annotations

import pytest

from tools.manifest import by_number
from tools.record import Outcome
from tools.run.job import Job
from tools.tests.supervision_cases import (
    RAW_TRACEBACK,
    append,
    assert_all_fail,
    assert_clean,
    assert_sentence,
    build,
    job,
    judge_live,
    only,
    run_cli,
    show,
)
from tools.tests.supervision_quick_cases import QUICK

# ---------------------------------------------------------------------------------------------
# The quick cases: one supervised run for all of them


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, list[Outcome]], str]:
    """{case: its outcomes} for every QUICK case, judged in one live run, and what that run printed."""
    folder = tmp_path_factory.mktemp("quick")
    jobs = []
    for name, case in QUICK.items():
        root = build(folder / name, case.module, case.edit, case.stubbed)
        if case.tests:
            files = [by_number(n).test_file for n in case.katas]
            jobs.append(Job(tuple(f"{f}::{t}" for f in files for t in case.tests), root=root))
        else:
            jobs.append(job(root, *case.katas))
    run = judge_live(jobs, folder)
    return dict(zip(QUICK, run.outcomes)), run.live


def test_os_exit_inside_a_function_fails_every_test_and_blames_it(quick):
    outcomes = quick[0]["os_exit"]
    assert len(outcomes) == 5, show(outcomes)
    assert_all_fail(outcomes, blame=2)
    for o in outcomes:
        assert "not end the program" in o.message, f"the message should say not to end the program: {o.message!r}"
        assert "relu.py" in o.message, f"the message should point at katas/relu.py: {o.message!r}"
    assert_clean(outcomes)


def test_a_real_exit_ends_only_the_worker_and_each_test_is_blamed(quick):
    outcomes = quick[0]["posix_exit"]
    assert len(outcomes) == 2, f"both chosen tests should be reported, each by its own worker:\n{show(outcomes)}"
    assert_all_fail(outcomes, blame=2)
    for o in outcomes:
        assert "not end the program" in o.message and "exit code 0" in o.message, o.message
    assert_clean(outcomes)


@pytest.mark.parametrize("case", ["sys_exit", "keyboard_interrupt"])
def test_ending_the_program_in_affine_is_blamed_on_kata_1_by_kata_7(quick, case):
    outcomes = quick[0][case]
    assert len(outcomes) >= 5, f"the runner should report all of kata 7's tests:\n{show(outcomes)}"
    # test_init_follows_the_tutorial never calls affine_forward, so it may pass; every test that did must fail.
    passed_with_affine = [o for o in outcomes if o.passed and 1 in o.ran]
    assert not passed_with_affine, f"a test that ran affine_forward passed:\n{show(passed_with_affine)}"
    failed = [o for o in outcomes if not o.passed]
    assert len(failed) >= len(outcomes) - 1, show(outcomes)
    wrong = [o for o in failed if o.blame != 1 or not o.message.startswith("kata-7 (model) needs kata-1 (affine)")]
    assert not wrong, f"each failure should send the learner to kata 1:\n{show(wrong)}"
    word = "SystemExit" if case == "sys_exit" else "KeyboardInterrupt"
    assert all(word in o.message for o in failed), show(failed)
    assert_clean(outcomes)


@pytest.mark.parametrize(
    "case", ["skip_from_getattr", "xfail", "unittest_skip", "pytest_exit", "pytest_exit_on_import"]
)
def test_kata_code_cannot_decide_a_test_outcome(quick, case):
    """A skip, an xfail or an exit raised by kata code, anywhere it runs, is a failure of that test, and every
    collected test is reported: none passes, none is skipped, none is left out."""
    outcomes = quick[0][case]
    assert len(outcomes) == 5, f"every one of kata 2's 5 tests must be reported:\n{show(outcomes)}"
    assert_all_fail(outcomes, blame=2)
    for o in outcomes:
        assert o.message.startswith("kata-2 (relu): "), o.message
        assert "decide" in o.message or "decides" in o.message, (
            f"the message should say what the code did: {o.message!r}"
        )
    assert_clean(outcomes)


@pytest.mark.parametrize(
    ("case", "said"),
    [("del_raises", "ValueError: freed"), ("del_skips", "Skipped('freed')"), ("del_exits", "os._exit(0)")],
)
def test_an_error_in_a_del_method_is_named_where_it_was_raised(quick, case, said):
    outcomes = quick[0][case]
    assert_all_fail(outcomes, blame=2)
    for o in outcomes:
        assert "`__del__` method of your code" in o.message and said in o.message, o.message
        assert "ExceptionGroup" not in o.message and "katas/relu.py:" in o.message, o.message


def test_a_tensor_subclass_cannot_redefine_what_equal_means(quick):
    """Only plain data leaves the kata process: the Liar arrives as a plain tensor, judged by its numbers."""
    outcomes = quick[0]["tensor_subclass"]
    failed = [o for o in outcomes if not o.passed]
    assert len(failed) >= 4 and all(o.blame == 2 for o in failed), show(outcomes)  # a backward that only
    # agrees with its own (wrong) forward may pass the central-differences test; the forward's tests fail
    assert any("wrong values" in o.message for o in outcomes), show(outcomes)
    assert not any("Liar" in o.message for o in outcomes), show(outcomes)


def test_a_result_whose_own_methods_would_skip_crosses_as_its_items(quick):
    """A tuple subclass whose __len__ calls pytest.skip: its items cross as a plain tuple, nothing of its class
    runs where the tests are, and the (right) relu is judged by its values."""
    outcomes = quick[0]["skip_from_len"]
    assert len(outcomes) == 5 and all(o.passed for o in outcomes), show(outcomes)


def test_an_exception_without_a_message_is_named_alone(quick):
    outcomes = quick[0]["bare_exception"]
    assert_all_fail(outcomes, blame=2)
    assert all("raised GeneratorExit\n" in o.message for o in outcomes), show(outcomes)


def test_kata_code_cannot_stop_the_run_from_its_own_process(quick):
    """Kata code that finds pytest's Session in its heap and sets shouldstop changes its own process only: every
    test runs and is judged (the relu is right; the search of its heap at every call is slow)."""
    outcomes = quick[0]["session_stop"]
    assert len(outcomes) == 5, f"every one of kata 2's 5 tests must be reported:\n{show(outcomes)}"
    assert not any(o.did_not_run for o in outcomes), show(outcomes)  # (its heap search may run out of time)
    assert outcomes[0].passed, show(outcomes)


def test_a_run_that_judges_nothing_is_not_a_success(tmp_path):
    root = build(tmp_path, "relu", append("# unchanged\n"))
    code, out, _ = run_cli(root, ["tests/test_relu.py", "-k", "no_such_test"], limit=120)
    assert code == 1, f"exit code {code}:\n{out[-2000:]}"
    assert "No test ran" in out, out[-2000:]


def test_default_dtype_changed_on_import_is_blamed_on_kata_2_by_kata_9(quick):
    outcomes = quick[0]["default_dtype"]
    assert len(outcomes) >= 5, show(outcomes)
    assert_all_fail(outcomes, blame=2)
    for o in outcomes:
        assert "default dtype" in o.message and "katas/relu.py" in o.message, o.message
    assert_clean(outcomes)


def each_test_of_kata_2_says(outcomes, text):
    """All five of kata 2's tests fail, blamed on kata 2, each in one sentence that says text; nothing else shown."""
    assert len(outcomes) == 5, show(outcomes)
    assert_all_fail(outcomes, blame=2)
    assert_sentence(outcomes, "kata-2 (relu)")
    for o in outcomes:
        assert text in o.message, o.message
    assert_clean(outcomes)


def test_an_empty_file_names_the_missing_function_in_one_sentence(quick):
    each_test_of_kata_2_says(quick[0]["empty"], "has no `relu_forward`")


def test_a_list_instead_of_a_tuple_is_one_sentence(quick):
    outcomes = quick[0]["list"]
    failed = [o for o in outcomes if not o.passed]
    # test_backward_matches_central_differences_of_your_forward unpacks the list without checking its type.
    assert len(failed) >= 4, show(outcomes)
    assert all(o.blame == 2 for o in failed), show(failed)
    assert_sentence(failed, "kata-2 (relu)")
    for o in failed:
        assert "returned a list; expected the tuple (out, cache)" in o.message, o.message
    assert_clean(outcomes)


@pytest.mark.parametrize("case", ["binary", "utf16", "ff_fe", "latin1"])
def test_a_file_that_is_not_utf8_text_is_named_in_one_sentence(quick, case):
    each_test_of_kata_2_says(quick[0][case], "katas/relu.py is not a Python text file")


@pytest.mark.parametrize("case", ["ff_fe", "latin1"])
def test_the_not_utf8_message_gives_its_reason(quick, case):
    message = quick[0][case][0].message
    assert "file ()" not in message and "not UTF-8" in message, f"the reason in parentheses is lost: {message!r}"


def test_a_missing_sigmoid_is_blamed_on_kata_9_even_with_earlier_katas_unstarted(quick):
    outcomes = quick[0]["no_sigmoid"]
    layers = only(outcomes, "test_the_module_has_the_four_layers_in_order")
    assert not layers.passed and layers.blame == 9 and not layers.not_started, show([layers])
    assert layers.message.startswith("kata-9 (autograd-bridge): ") and "sigmoid" in layers.message, layers.message
    assert_clean(outcomes)


def test_the_quick_run_shows_no_traceback_and_no_internal_error(quick):
    outcomes, live = quick
    assert set(outcomes) == set(QUICK)
    assert_clean([o for case in outcomes.values() for o in case], live)
    assert RAW_TRACEBACK not in live, f"the live output shows a raw traceback:\n{live[-3000:]}"
