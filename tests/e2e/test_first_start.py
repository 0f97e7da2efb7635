"""First start without GPUPOOL_ADMIN_PASSWORD: a random admin password, shown once, kept 0600."""
import os
import shutil
import stat

from conftest import Api, Server, mint_token


def test_first_start_generates_the_admin_password_once():
    server = Server(admin_password=None)
    try:
        server.start()
        path = os.path.join(server.data_dir, "admin-password")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with open(path) as handle:
            password = handle.read().strip()
        assert len(password) >= 20
        assert password in server.log(), "printed once for the operator"
        token = mint_token(server.base, "admin", password)
        status, me = Api(server.base, token).get("/api/v1/me")
        assert status == 200 and me["admin"] is True

        server.stop()
        server.start()
        assert server.log().count(password) == 1, "not generated or printed again"
        with open(path) as handle:
            assert handle.read().strip() == password
    finally:
        server.stop()
        shutil.rmtree(server.data_dir, ignore_errors=True)
