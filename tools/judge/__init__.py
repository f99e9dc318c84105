"""The judge: how the tests call a learner's code and explain what they find, one module per job.

The tests name it `judge` (tests/judge.py re-exports it: `judge.call`, `judge.close`...); the
plugin that runs it under pytest is tools/plugin/. This file imports nothing: the torch-free
supervisor (tools/run/) imports processes.py and said.py, and importing them runs this file.

context.py     the Session (one per run) and the Test (one per test), held explicitly, set by the plugin
errors.py      KataError, NotStarted, fail: a failure explained for a person
calls.py       load and call the learner's code (in the kata process), described for a sentence;
               numerical_grad, the gradient the learner's own forward implies
blame.py       who is at fault inside a call or an import, and the one wording of each such sentence
escaped.py     who is at fault for what escaped every call: a time limit, a stop, a crash outside a call
checks.py      tensor, close, unchanged, value, unpack: each check fails in words
graph.py       in_graph: whether a result stays in autograd's graph
references.py  autograd, linspace, rand: reference gradients and inputs; central differences' two halves
said.py        one wording of each sentence about an ended process (torch-free)
processes.py   the processes kata code may leave, and memory (torch-free)
limits.py      time limits, and torch's global settings (what both processes need)
wire.py        what crosses between the judge and the kata process: plain data only, both ways
values.py      tensors by value: their form on the wire, changes made in place, the judge's weak table
handles.py     objects that stay where they live, reached by a Proxy; the operations on a handle
kata_process.py  the kata process's life: seal itself off, then serve the judge
sandbox.py     what the kata process does with a request: import, call, probe, under the test's limits
sealed.py      the judge's end: start the kata process, ask it to load and call, restart it when it dies
rebuilt.py     an error of the kata process, rebuilt in the judge as an exception of the same name and kind
"""
