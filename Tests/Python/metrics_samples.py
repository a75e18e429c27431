"""Reads a Prometheus text exposition on stdin with prometheus_client's parser and prints every
sample as JSON: {"families": {name: type}, "samples": [[name, {label: value}, value], ...]}.
A line the parser cannot read fails the run (exit 1, the parser's message on stderr)."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

families = {}
samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    families[family.name] = family.type
    for sample in family.samples:
        samples.append([sample.name, sample.labels, sample.value])
json.dump({"families": families, "samples": samples}, sys.stdout)
