"""The portal's live view: server-sent events from a real `gpupool up` as sessions come and go."""
import http.client
import json
import time

from test_proxy import login


class EventReader:
    """GET /api/v1/events, read event by event."""

    def __init__(self, server, headers):
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        self.connection.request("GET", "/api/v1/events", headers=headers)
        self.response = self.connection.getresponse()
        self.latest = {}

    def next_event(self, deadline=None):
        """(name, document), or None once the server has ended the stream."""
        name = data = None
        while True:
            assert deadline is None or time.time() < deadline, "no such event in time"
            line = self.response.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                data = line[len("data: "):]
            elif line == "" and name is not None:
                return name, json.loads(data)

    def wait_for(self, wanted, timeout=120):
        """Reads events until wanted(latest) holds, latest being the newest document of each
        name; returns latest."""
        deadline = time.time() + timeout
        while not wanted(self.latest):
            event = self.next_event(deadline)
            assert event is not None, "the stream ended"
            self.latest[event[0]] = event[1]
        return self.latest

    def close(self):
        self.connection.close()


def session_state(document, session_id):
    for session in document["sessions"]:
        if session["id"] == session_id:
            return session["state"]
    return None


def free_gpus(pool):
    return sum(model["free"] for model in pool["gpu_models"])


def test_sessions_and_pool_arrive_as_they_change(server, make_user):
    _, api = make_user("live")
    reader = EventReader(server, {"Authorization": "Bearer " + api.token})
    try:
        assert reader.response.status == 200
        assert reader.response.getheader("Content-Type") == "text/event-stream"
        first = reader.wait_for(lambda latest: "sessions" in latest and "pool" in latest, timeout=10)
        assert first["sessions"] == {"sessions": []}
        free_before = free_gpus(first["pool"])

        status, session = api.post("/api/v1/sessions", {"gpus": 1})
        assert status == 201, session
        reader.wait_for(lambda latest: session_state(latest["sessions"], session["id"]) == "running"
                        and free_gpus(latest["pool"]) == free_before - 1)

        api.call("DELETE", f"/api/v1/sessions/{session['id']}")
        reader.wait_for(lambda latest: session_state(latest["sessions"], session["id"]) == "ended"
                        and free_gpus(latest["pool"]) == free_before)
    finally:
        reader.close()


def test_logout_ends_the_stream_and_strangers_get_none(server, make_user):
    name, api = make_user("live-out")
    cookie, csrf = login(server, name, api.password)
    reader = EventReader(server, {"Cookie": cookie})
    try:
        assert reader.next_event()[0] in ("sessions", "pool")
        logout = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        logout.request("POST", "/api/v1/auth/logout", headers={"Cookie": cookie, "X-CSRF-Token": csrf})
        assert logout.getresponse().status == 200
        started = time.time()
        while reader.next_event() is not None:
            pass
        assert time.time() - started < 10, "logout ends the live view at once"
    finally:
        reader.close()
    anonymous = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    anonymous.request("GET", "/api/v1/events")
    assert anonymous.getresponse().status == 401
