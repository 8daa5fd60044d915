"""Prints garbage and a malformed event, then exits 0 without a result."""

print("}{ not json", flush=True)
print('{"event": "nonsense"}', flush=True)
print("[1, 2, 3]", flush=True)
