"""A function stopped for not finishing is quarantined in its own tree only: in a run of many trees (a class, the
bug zoo) another student's function of the same name is judged afresh."""

import faulthandler
import json

from tools.plugin.channel import Channel
from tools.run.follow import Watch, _handle


def test_a_quarantine_reaches_later_workers_of_its_own_tree_only(tmp_path):
    hung: list[dict] = []
    event = {"event": "hung", "file": "/a/katas/relu.py", "function": "relu_backward", "message": "it hung"}
    _handle(Watch(), {**event, "package": str(tmp_path / "a" / "katas")}, [[]], hung)
    assert hung[0]["package"] == str(tmp_path / "a" / "katas"), hung
    (tmp_path / "run" / "hung.json").parent.mkdir()
    (tmp_path / "run" / "hung.json").write_text(json.dumps(hung), encoding="utf-8")
    channel = Channel(str(tmp_path / "run"))
    try:
        mine = channel.hung(tmp_path / "a" / "katas")
        assert mine == {(str(tmp_path / "a" / "katas" / "relu.py"), "relu_backward"): "it hung"}, mine
        assert channel.hung(tmp_path / "b" / "katas") == {}, "another tree's relu_backward is not quarantined"
    finally:
        faulthandler.disable()
