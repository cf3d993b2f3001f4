"""Schemathesis hooks for the master's fuzz run (test/integration/api-fuzz.test.ts).

A page token is state the server hands out (next_page_token), not data a client makes up: the
document cannot say which strings are tokens, so an invented one is refused (400, naming
page_token) whatever the schema allows. The fuzzer is therefore not told about the parameter;
the refusal of invented tokens is pinned in test/integration/api-jobs.test.ts.
"""
import sys

import schemathesis

# The coverage phase walks POST /jobs/batch (an array of the job schema with its catalogue-generated
# variants) deep enough that CPython 3.11's parser, asked by Hypothesis to describe a lambda near the
# default limit of 1000 frames, fails ("AST constructor recursion depth mismatch"). Room enough:
sys.setrecursionlimit(20_000)


@schemathesis.hook
def before_load_schema(context, raw_schema):
    get_jobs = raw_schema["paths"]["/jobs"]["get"]
    get_jobs["parameters"] = [p for p in get_jobs["parameters"] if p["name"] != "page_token"]
