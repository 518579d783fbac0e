"""Training pipelines: what a training job is and where it runs.

A :class:`~werft.pipelines.jobs.TrainingJob` names an entrypoint in the
project's repository (``train.py:main``), its params and its input data. An
executor runs it — :class:`~werft.pipelines.executors.LocalExecutor` in a
subprocess on this machine (the default), or
:class:`~werft.pipelines.ray_executor.RayExecutor` on a Ray cluster
(``pip install 'werft[ray]'``) — and hands back a handle to watch, cancel and
wait for it. :func:`~werft.pipelines.executors.executor_for` picks one from
the ``executor:`` setting of ``werft.yaml``.

Executors only execute: they keep no records. Recording pipeline runs, their
triggers and what they produced is the caller's job.
"""
