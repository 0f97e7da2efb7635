"""Prices, the meter and prepaid balances against a real `gpupool up`: a running session pays
its model's price for each second it runs, its rate stays what it was when it was placed, a
kill -9 of the server neither loses nor double-counts its time, it is charged once when it
ends, and it is stopped when its owner's balance runs out."""
import signal
import time

from conftest import wait_for_state


def cost_of(api, session_id):
    status, session = api.get(f"/api/v1/sessions/{session_id}")
    assert status == 200, session
    return session["cost"]


def top_up(admin, name, amount, key):
    return admin.post(f"/api/v1/users/{name}/balance", {"amount": amount, "idempotency_key": key})


def test_a_running_session_pays_per_second_at_the_price_it_was_placed_at(server, admin, make_user):
    name, user = make_user("meter")
    assert admin.call("PUT", "/api/v1/prices/A100-80GB", {"per_gpu_hour": 36})[0] == 200  # 0.01 a second
    status, refused = user.post("/api/v1/sessions", {"gpus": 2})
    assert status == 402 and refused["error"]["code"] == "balance_exhausted", refused
    assert top_up(admin, name, 50, "first")[0] == 201
    status, session = user.post("/api/v1/sessions", {"gpus": 2})
    assert status == 201, session
    assert session["cost"]["hourly_rate"] == 72
    running = wait_for_state(user, session["id"], {"running"})
    assert running["cost"]["billed_seconds"] <= 1, "starting is not billed"

    assert admin.call("PUT", "/api/v1/prices/A100-80GB", {"per_gpu_hour": 1000})[0] == 200
    time.sleep(2.2)
    cost = cost_of(user, session["id"])
    assert cost["hourly_rate"] == 72, "a new price does not reach back into a placed session"
    assert cost["billed_seconds"] >= 2
    assert abs(cost["so_far"] - cost["billed_seconds"] * 0.02) < 1e-6

    # kill -9: the meter picks up where the session's start time says, after the restart.
    server.stop(signal.SIGKILL)
    time.sleep(1)
    server.start()
    after = cost_of(user, session["id"])
    assert after["hourly_rate"] == 72
    assert after["billed_seconds"] >= cost["billed_seconds"] + 1, "the container kept running"

    user.call("DELETE", f"/api/v1/sessions/{session['id']}")
    ended = wait_for_state(user, session["id"], {"ended"}, timeout=60)
    final = ended["cost"]["so_far"]
    time.sleep(1.2)
    assert cost_of(user, session["id"])["so_far"] == final, "nothing is billed after the end"

    status, usage = user.get("/api/v1/usage")
    assert status == 200, usage
    assert [line["id"] for line in usage["sessions"]] == [session["id"]]
    assert usage["total_cost"] == final
    assert usage["by_model"][0]["gpu_model"] == "A100-80GB"
    assert usage["by_model"][0]["gpu_hours"] > 0
    prices = user.get("/api/v1/prices")[1]["prices"]
    assert [(price["gpu_model"], price["per_gpu_hour"]) for price in prices] == [("A100-80GB", 1000)]

    # The session was charged once, when it ended, and the ledger says so.
    status, balance = user.get("/api/v1/balance")
    assert status == 200, balance
    assert [entry["kind"] for entry in balance["entries"]] == ["charge", "top_up"]
    assert balance["entries"][0]["session"] == session["id"]
    assert abs(balance["entries"][0]["amount"] + final) < 1e-6
    assert abs(balance["balance"] - (50 - final)) < 1e-6 and balance["running_cost"] == 0
    assert user.get("/api/v1/me")[1]["balance"] == balance["balance"]
    admin.call("PUT", "/api/v1/prices/A100-80GB", {"per_gpu_hour": 0})


def test_a_session_stops_when_its_balance_runs_out(server, admin, make_user):
    name, user = make_user("broke")
    assert admin.call("PUT", "/api/v1/prices/A100-80GB", {"per_gpu_hour": 360})[0] == 200  # 0.1 a second
    assert top_up(admin, name, 0.3, "small")[0] == 201
    assert top_up(admin, name, 0.3, "small")[0] == 200, "a retried top-up is not counted twice"
    status, session = user.post("/api/v1/sessions", {"gpus": 1})
    assert status == 201, session
    wait_for_state(user, session["id"], {"running"})
    ended = wait_for_state(user, session["id"], {"ended"}, timeout=60)
    assert ended["end_reason"] == "balance_exhausted", ended
    assert 3 <= ended["cost"]["billed_seconds"] <= 8, ended["cost"]
    status, refused = user.post("/api/v1/sessions", {"gpus": 1})
    assert status == 402, refused
    admin.call("PUT", "/api/v1/prices/A100-80GB", {"per_gpu_hour": 0})
