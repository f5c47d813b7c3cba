"""Allocator settings: applied once per process, pyarrow on the system allocator."""

import platform

import pyarrow as pa

from transforms.run import allocator


def test_tune_allocator_applies_once_and_moves_pyarrow_to_the_system_pool():
    first = allocator.tune_allocator()
    assert allocator.tune_allocator() is first  # once per process
    assert first is (platform.libc_ver()[0] == "glibc")  # mallopt exists only in glibc
    assert pa.default_memory_pool().backend_name == "system"
    table = pa.table({"text": ["Станция", "站", "محطة"] * 1000})
    assert table.num_rows == 3000  # Arrow still allocates
