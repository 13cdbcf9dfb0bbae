"""Injected faults: shares of failures reproducible with a seed, delays and dropped sockets."""

import time

import pytest
import requests


def statuses(sandbox, token, count):
    return [
        requests.get(
            f"{sandbox.url}/v2/bot/info", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).status_code
        for _ in range(count)
    ]


def test_a_share_of_500s_repeats_with_the_same_seed(sandbox):
    rules = [{"kind": "500", "method": "GET", "path": "/v2/bot/*", "rate": 0.5}]
    sandbox.control.faults_set(rules, seed=7)
    first = statuses(sandbox, "t", 20)
    sandbox.control.faults_set(rules, seed=7)
    second = statuses(sandbox, "t", 20)
    assert first == second
    assert set(first) == {200, 500}


def test_429_fault_has_line_body_and_other_paths_are_untouched(sandbox):
    sandbox.control.faults_set([{"kind": "429", "path": "/v2/bot/info"}])
    response = requests.get(
        f"{sandbox.url}/v2/bot/info", headers={"Authorization": "Bearer t"}, timeout=10
    )
    assert response.status_code == 429
    assert response.json()["message"] == "The API rate limit has been exceeded. Try again later."
    other = requests.get(
        f"{sandbox.url}/v2/bot/message/quota", headers={"Authorization": "Bearer t"}, timeout=10
    )
    assert other.status_code == 200


def test_remaining_limits_how_often_a_rule_fires(sandbox):
    sandbox.control.faults_set([{"kind": "500", "path": "*", "remaining": 2}])
    assert statuses(sandbox, "t", 3) == [500, 500, 200]


def test_slow_answers_arrive_late(sandbox):
    sandbox.control.faults_set([{"kind": "slow", "delay": 0.3}])
    response = requests.get(
        f"{sandbox.url}/v2/bot/info", headers={"Authorization": "Bearer t"}, timeout=10
    )
    assert response.status_code == 200
    assert response.elapsed.total_seconds() >= 0.3


def test_timeouts_make_the_client_give_up(sandbox):
    sandbox.control.faults_set([{"kind": "timeout", "delay": 0.5}])
    with pytest.raises(requests.Timeout):
        requests.get(
            f"{sandbox.url}/v2/bot/info", headers={"Authorization": "Bearer t"}, timeout=0.2
        )
    time.sleep(0.4)  # let the sleeping request finish before the next test resets the sandbox


def test_dropped_connections_give_no_answer(sandbox):
    sandbox.control.faults_set([{"kind": "drop", "remaining": 1}])
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{sandbox.url}/v2/bot/info", headers={"Authorization": "Bearer t"}, timeout=5)
    assert statuses(sandbox, "t", 1) == [200]
    assert [r["fault"] for r in sandbox.control.requests() if "fault" in r] == ["drop"]
