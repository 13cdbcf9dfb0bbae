"""Configuring the sandbox: the whole-configuration call and the command line."""

import json
import subprocess
import sys
import time

import requests

from tests.sandbox_fixtures import free_port


def test_config_registers_channels_login_channels_limits_and_faults(sandbox):
    sandbox.control.setup(
        {
            "appUrl": "http://127.0.0.1:9",
            "channels": [
                {"channelId": "1111111", "accessToken": "tok", "webhookUrl": "/line/hook/"}
            ],
            "loginChannels": [
                {"channelId": "2222222", "channelSecret": "s" * 32, "messagingChannelId": "1111111"}
            ],
            "limits": {"text_max_length": 10},
            "faults": [{"kind": "500", "path": "/v2/bot/info", "remaining": 1}],
        },
    )
    channel = sandbox.control.channel("1111111")
    assert channel["webhookUrl"] == "http://127.0.0.1:9/line/hook/"
    assert sandbox.control.config()["limits"]["messages"]["text_max_length"] == 10
    auth = {"Authorization": "Bearer tok"}
    statuses = [
        requests.get(f"{sandbox.url}/v2/bot/info", headers=auth, timeout=10).status_code
        for _ in range(2)
    ]
    assert statuses == [500, 200]


def test_reregistering_keeps_generated_credentials(sandbox):
    first = sandbox.control.channel_register("3333333", basicId="")
    again = sandbox.control.channel_register("3333333", basicId="", name="Renamed")
    assert again["basicId"] == first["basicId"] and again["channelSecret"] == first["channelSecret"]


def test_command_line_serves_with_faults(tmp_path):
    port = free_port()
    config = tmp_path / "sandbox.json"
    config.write_text(json.dumps({"channels": [{"channelId": "4444444", "accessToken": "cli"}]}))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "linebot.sandbox",
            "--port",
            str(port),
            "--seed",
            "1",
            "--rate-limits",
            "off",
            "--config",
            str(config),
            "--fault",
            json.dumps({"kind": "429", "path": "/v2/bot/info", "remaining": 1}),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/v2/bot/info"
        deadline = time.monotonic() + 10
        while True:
            try:
                first = requests.get(url, headers={"Authorization": "Bearer cli"}, timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        assert first.status_code == 429
        second = requests.get(url, headers={"Authorization": "Bearer cli"}, timeout=2)
        assert second.status_code == 200
    finally:
        process.terminate()
        _, log = process.communicate(timeout=10)
    assert b"GET /v2/bot/info" in log
