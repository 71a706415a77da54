"""Alert judgement is pure: each kind's threshold, the minimum sample, and an honest summary."""

import pytest

from workflows.alerts import Observation, judge


def test_failure_rate():
    p = {"threshold_percent": 40, "window": "P7D", "min_executions": 5}
    assert judge("failure_rate", p, Observation(50.0, sample=10)).firing
    assert judge("failure_rate", p, Observation(50.0, sample=10)).summary == \
        "50.0% of 10 executions failed in P7D (over 40%)"
    assert not judge("failure_rate", p, Observation(40.0, sample=10)).firing  # "over", not "at"
    low = judge("failure_rate", p, Observation(100.0, sample=4))
    assert not low.firing and "not judged" in low.summary


def test_other_kinds():
    assert judge("long_running", {"max_duration": "PT1H"}, Observation(2)).firing
    assert not judge("long_running", {"max_duration": "PT1H"}, Observation(0)).firing
    assert judge("queue_backlog", {"max_backlog": 10}, Observation(11)).firing
    assert not judge("queue_backlog", {"max_backlog": 10}, Observation(10)).firing
    assert judge("no_worker", {}, Observation(0)).summary == "no worker is polling the task queue"
    assert not judge("no_worker", {}, Observation(2)).firing
    with pytest.raises(ValueError):
        judge("nope", {}, Observation(0))
