"""kratom-watch's benchmarks: `python -m benchmarks [section ...] [--quick]`.

Not part of the product (the wheel ships `flows` only). Each section runs kratom-watch as a
user does, through its public functions, against local servers: the tests' E-utilities
server (tests/eutils_server.py; `slow_eutils` makes it answer at NCBI's pace) and a
`prefect server start` of its own (tests/prefect_server.py). Runs happen in fresh child
processes (`child`), so a figure includes what a run pays and nothing the benchmark itself
holds. docs/benchmarks.md says what each section measures and what it found.
"""
