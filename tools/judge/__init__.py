"""The judge's machinery that is not a test: kata code sealed in a process of its own.

limits.py   time limits, and torch's global settings (what both processes need)
wire.py     what crosses between the judge and the kata process: plain data, tensors by value, handles
sandbox.py  the kata process: it imports and runs the learner's code, and nothing of the tests
sealed.py   the judge's end: start the kata process, ask it to load and call, restart it when it dies
"""
