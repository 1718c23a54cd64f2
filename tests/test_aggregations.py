"""DTrace's aggregation semantics, in one module (dtscope.dscript.aggregations).

Buckets by index, as DTrace's consumer walks them; avg and stddev with DTrace's integer
arithmetic; the constant parameters of lquantize and llquantize read from the tree.
"""

from __future__ import annotations

import pytest
from dtscope.dscript import parse
from dtscope.dscript.aggregations import (
    QUANTIZE_BUCKETS,
    aggregations_of,
    bucket_list,
    c_division,
    dtrace_avg,
    dtrace_stddev,
    llquantize_bounds,
    llquantize_index,
    llquantize_problem,
    lquantize_bucket_list,
    lquantize_index,
    normalize,
    quantize_bounds,
    quantize_bucket,
    quantize_index,
    quantize_index_of_label,
    quantize_value,
)


def test_quantize_buckets_are_dtrace_s():
    assert quantize_bucket(0) == (0, 1)
    assert quantize_bucket(1) == (1, 2)
    assert quantize_bucket(5) == (4, 8)
    assert quantize_bucket(-1) == (-1, 0)
    assert quantize_bucket(-5) == (-7, -3)  # DTrace's bucket -4 holds -7..-4
    assert quantize_bucket(2**62) == (2**62, 2**63)
    assert quantize_bucket(-(2**63)) == (-(2**63) + 1, -(2**62) + 1)  # clamped to the last bucket
    # Every value lands in its bucket, and the buckets tile the line without gaps.
    for value in list(range(-300, 300)) + [2**31 - 1, 2**31, -(2**31), 2**40 + 3]:
        lo, hi = quantize_bounds(quantize_index(value))
        assert lo <= value < hi or (value == -(2**63))
    bounds = [quantize_bounds(i) for i in range(QUANTIZE_BUCKETS)]
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    assert [quantize_value(i) for i in (62, 63, 64, 65, 66)] == [-1, 0, 1, 2, 4]
    assert quantize_index_of_label(-4) == quantize_index(-4) and quantize_index_of_label(0) == 63
    with pytest.raises(ValueError):
        quantize_index_of_label(6)


def test_lquantize_buckets_and_index():
    assert lquantize_bucket_list(0, 100, 10)[:3] == [(None, 0), (0, 10), (10, 20)]
    assert lquantize_bucket_list(0, 100, 10)[-1] == (100, None)
    # The top bucket starts at lo + ((hi - lo) // step) * step, as in DTrace.
    assert lquantize_bucket_list(0, 25, 10)[-1] == (20, None)
    for value in range(-15, 40):
        lo, hi = lquantize_bucket_list(-10, 25, 5)[lquantize_index(-10, 25, 5, value)]
        assert (lo is None or lo <= value) and (hi is None or value < hi), value
    assert bucket_list("quantize")[63] == (0, 1)
    assert bucket_list("lquantize", (0, 10, 5)) == [(None, 0), (0, 5), (5, 10), (10, None)]
    assert bucket_list("lquantize") is None and bucket_list("count") is None


def test_llquantize_index_matches_bounds():
    for params in [
        (10, 0, 2, 10),
        (2, 0, 6, 2),
        (10, 2, 4, 20),
        (3, 3, 5, 27),
        (4, 1, 3, 16),
        (10, 0, 6, 100),
    ]:
        assert llquantize_problem(*params) is None, params
        bounds = llquantize_bounds(*params)
        top = params[0] ** (params[2] + 1)
        for value in list(range(-3, min(top + 10, 20000))) + [top - 1, top, top * 5]:
            index = llquantize_index(*params, value)
            lo, hi = bounds[index]
            assert (lo is None or lo <= value) and (hi is None or value < hi), (
                params,
                value,
                index,
                bounds[index],
            )


def test_llquantize_rejects_what_dtrace_rejects():
    assert "at least 2" in llquantize_problem(1, 0, 6, 20)
    assert "evenly divide" in llquantize_problem(10, 0, 6, 25)
    assert "factor*factor" in llquantize_problem(10, 0, 6, 30)
    assert "overflows" in llquantize_problem(10, 0, 19, 10)


def test_avg_stddev_and_normalize_as_dtrace_computes_them():
    values = [2, 4, 4, 4, 5, 5, 7, 9]
    assert dtrace_stddev(len(values), sum(values), sum(v * v for v in values)) == 2
    assert dtrace_stddev(3, -7, 1 + 4 + 36) == 3  # -7/3 truncates to -2; 41/3 = 13; isqrt(13 - 4) = 3
    assert dtrace_stddev(0, 0, 0) == 0
    assert dtrace_avg(2, -3) == -1 and dtrace_avg(0, 5) == 0 and dtrace_avg(3, 10) == 3
    assert c_division(-7, 2) == -3 and c_division(7, -2) == -3 and c_division(-7, -2) == 3
    assert normalize(1999, 1000) == 1 and normalize(-1999, 1000) == -1
    with pytest.raises(ZeroDivisionError):
        normalize(1, 0)


def test_aggregations_of_a_program_with_constant_parameters():
    program = parse(
        "BEGIN { @l[execname, pid] = lquantize(1, 100-16, 200, 8); @k = lquantize(1, 0, 10);"
        " @g = llquantize(1, 10, 0, 6, 20); @c = count(); @v = lquantize(1, 0, 10, 1 << 1); }"
    )
    found = aggregations_of(program)
    assert found["l"].params == (84, 200, 8) and found["l"].key_names == ["execname", "pid"]
    assert found["l"].key_kinds == ["str", "int"]
    assert found["k"].params == (0, 10, 1)  # the step defaults to 1
    assert found["g"].params == (10, 0, 6, 20)
    assert found["c"].params == () and found["v"].params == (0, 10, 2)
