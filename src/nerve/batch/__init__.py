"""Corpus jobs (``nerve batch``): plan input into shards, tag each shard once, write it
atomically, and record the job so that a killed run can be resumed.

The same shards, read and tagged the same way, are the unit of work locally (``local``) and
on Ray (``nerve.ray.pipeline``), which is why both give byte-identical output.
"""
