"""tools/judge/limits.py's torch settings: a kata's change of the default device is seen (set, or entered as a
context) and put back. The device is read without torch's walk through its modes when there is none."""

import torch

from tools.judge import limits

CPU = torch.device("cpu")


def test_a_default_device_set_or_entered_is_seen_and_restore_puts_cpu_back():
    before = limits.world()
    assert before["default device"] == CPU
    with torch.device("meta"):
        assert limits.world()["default device"].type == "meta"
    assert limits.world()["default device"] == CPU
    torch.set_default_device("meta")
    try:
        now = limits.world()
        assert now["default device"].type == "meta"
        assert "default device" in limits.changes(before, now)
        limits.restore(before)
        assert limits.world()["default device"] == CPU == torch.get_default_device()
    finally:
        torch.set_default_device(None)
